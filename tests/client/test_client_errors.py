"""Errors and retries through the client, with faults injected by MockServer."""

from __future__ import annotations

import logging
import socket
import traceback

import pytest

import rawgpt
from rawgpt.testing import MockServer
from rawgpt.types import ChatCompletion

from ..conftest import KEY, MESSAGES, FakeSleep


async def create(c: rawgpt.AsyncClient) -> ChatCompletion:
    return await c.chat.completions.create(model="m", messages=MESSAGES)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, rawgpt.BadRequestError),
        (401, rawgpt.AuthenticationError),
        (403, rawgpt.PermissionDeniedError),
        (404, rawgpt.NotFoundError),
        (422, rawgpt.UnprocessableEntityError),
    ],
)
async def test_client_errors_are_raised_at_once(
    client: rawgpt.AsyncClient, server: MockServer, status: int, cls: type[Exception]
) -> None:
    server.add_fault(f"status:{status}")
    with pytest.raises(cls) as info:
        await create(client)
    err = info.value
    assert isinstance(err, rawgpt.APIStatusError)
    assert err.status_code == status
    assert err.request_id and err.request_id.startswith("req_")
    assert isinstance(err.body, dict) and "error" in err.body
    assert err.type is not None
    assert len(server.requests) == 1  # 4xx other than 408/409/429: no retry


async def test_server_errors_are_retried_then_succeed(
    client: rawgpt.AsyncClient, server: MockServer, sleeps: FakeSleep
) -> None:
    server.add_fault("status:500")
    server.add_fault("status:503")
    r = await create(client)
    assert r.choices[0].message.content
    assert len(server.requests) == 3
    assert len(sleeps.delays) == 2
    assert 0 <= sleeps.delays[0] <= 0.5 and 0 <= sleeps.delays[1] <= 1.0


async def test_retries_run_out(
    client: rawgpt.AsyncClient, server: MockServer, sleeps: FakeSleep
) -> None:
    server.add_fault("status:502:html", times=5)
    with pytest.raises(rawgpt.InternalServerError) as info:
        await create(client)
    assert len(server.requests) == 3 and len(sleeps.delays) == 2
    msg = str(info.value)
    assert "502" in msg and "Bad Gateway" in msg and len(msg) < 400


async def test_x_should_retry_false_is_honored(
    client: rawgpt.AsyncClient, server: MockServer
) -> None:
    server.add_fault("status:500:no_retry")
    with pytest.raises(rawgpt.InternalServerError):
        await create(client)
    assert len(server.requests) == 1


async def test_rate_limit_waits_as_long_as_retry_after_says(
    client: rawgpt.AsyncClient, server: MockServer, sleeps: FakeSleep
) -> None:
    server.add_fault("rate_limit:2")
    await create(client)
    assert len(server.requests) == 2
    assert 2.0 <= sleeps.delays[0] <= 2.0 * 1.1 + 0.001


async def test_quota_exhausted_fails_fast_without_retry(
    client: rawgpt.AsyncClient, server: MockServer, sleeps: FakeSleep
) -> None:
    server.add_fault("quota", times=3)
    with pytest.raises(rawgpt.QuotaExceededError) as info:
        await create(client)
    assert isinstance(info.value, rawgpt.RateLimitError)
    assert info.value.code == "insufficient_quota"
    assert len(server.requests) == 1 and sleeps.delays == []


async def test_request_too_large_is_not_retried(
    client: rawgpt.AsyncClient, server: MockServer
) -> None:
    server.add_fault("too_large", times=3)
    with pytest.raises(rawgpt.RateLimitError, match="Request too large"):
        await create(client)
    assert len(server.requests) == 1


async def test_malformed_2xx_body_is_a_validation_error(
    client: rawgpt.AsyncClient, server: MockServer
) -> None:
    server.add_fault("malformed", times=3)
    with pytest.raises(rawgpt.APIResponseValidationError, match="not valid JSON"):
        await create(client)
    assert len(server.requests) == 1


async def test_reset_mid_body_is_a_connection_error_and_retried(
    client: rawgpt.AsyncClient, server: MockServer
) -> None:
    server.add_fault("reset", times=3)
    with pytest.raises(rawgpt.APIConnectionError) as info:
        await create(client)
    assert not isinstance(info.value, rawgpt.APITimeoutError)
    assert len(server.requests) == 3


async def test_refused_connection(sleeps: FakeSleep) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}/v1"
    async with rawgpt.AsyncClient(api_key=KEY, base_url=base_url, sleep=sleeps) as c:
        with pytest.raises(rawgpt.APIConnectionError, match="Connect"):
            await create(c)
    assert len(sleeps.delays) == 2


async def test_slow_headers_hit_the_read_timeout(server: MockServer) -> None:
    server.add_fault("slow_headers:5")
    timeout = rawgpt.Timeout(connect=1, read=0.2)
    async with rawgpt.AsyncClient(
        api_key=KEY, base_url=server.base_url, timeout=timeout, max_retries=0
    ) as c:
        with pytest.raises(rawgpt.APITimeoutError):
            await create(c)


async def test_overall_retry_deadline_stops_retrying(server: MockServer) -> None:
    server.add_fault("rate_limit:30", times=5)
    retry = rawgpt.Retry(max_retries=5, deadline=10.0)
    async with rawgpt.AsyncClient(api_key=KEY, base_url=server.base_url, retry=retry) as c:
        with pytest.raises(rawgpt.RateLimitError):
            await create(c)
    assert len(server.requests) == 1


async def test_the_key_never_leaks(
    server: MockServer, caplog: pytest.LogCaptureFixture, sleeps: FakeSleep
) -> None:
    caplog.set_level(logging.DEBUG, logger="rawgpt")
    secret = KEY
    async with rawgpt.AsyncClient(
        api_key=secret, base_url=server.base_url, seed=3, sleep=sleeps
    ) as c:
        errors: list[BaseException] = []
        for spec in ("status:401", "status:500", "reset", "malformed", "quota"):
            server.add_fault(spec, times=3)
            try:
                await create(c)
            except rawgpt.APIError as exc:
                errors.append(exc)
            server.clear_faults()
    assert len(errors) == 5
    for err in errors:
        text = "".join(traceback.format_exception(err)) + repr(err) + str(err)
        assert secret not in text
        if isinstance(err, rawgpt.APIStatusError):
            assert secret not in repr(err.body) + repr(dict(err.headers))
    assert caplog.records, "attempts are logged at DEBUG"
    assert all(secret not in r.getMessage() for r in caplog.records)


def test_status_error_masks_an_echoed_key() -> None:
    from rawgpt._errors import status_error

    body = b'{"error": {"message": "Incorrect API key provided: sk-LEAK123", "code": "x"}}'
    err = status_error(401, body, {}, secret="sk-LEAK123")
    assert "sk-LEAK123" not in str(err) and "sk-LEAK123" not in repr(err)
    assert "sk-LEAK123" not in repr(err.body) and "Incorrect API key" in str(err)
