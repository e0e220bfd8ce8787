"""An OpenAI-compatible mock server on loopback, for tests and benchmarks.

::

    async with MockServer(rpm=60, stream_chunks=200) as srv:
        client = rawgpt.AsyncClient(api_key="sk-test", base_url=srv.base_url)
        srv.add_fault("status:500", times=1)   # the next request gets a 500

Endpoints: ``POST /v1/chat/completions`` and ``POST /v1/responses`` (plain and
``stream: true``), ``POST /v1/embeddings`` and ``GET /v1/models``; anything else
is a 404. Every response carries OpenAI's ``x-request-id``, ``openai-processing-ms``
and ``x-ratelimit-*`` headers; RPM and TPM are enforced when set.

What a chat completion or a response says follows the request: a function tool
(``tool_choice`` not ``"none"``) gives a tool call whose arguments stream in
pieces; ``max_tokens`` / ``max_output_tokens`` below the reply's word count cut
it (``finish_reason: "length"``; a response ``"incomplete"`` with
``incomplete_details.reason: "max_output_tokens"``). A response starts with a
reasoning item when the request has ``reasoning`` or names a reasoning model
(``o1``/``o3``/``o4-mini``/``gpt-5``...), its summary streamed as
``response.reasoning_summary_text.delta`` events when ``reasoning.summary`` is set.
A Responses stream is ``event: <type>`` plus data with the same ``type`` and a
``sequence_number`` from 0, ending with ``response.completed`` /
``.incomplete`` / ``.failed`` (no ``[DONE]``).

Faults come from ``add_fault(spec, times=n)``, from an ``x-mock-fault: <spec>``
request header, or at random (``fail_rate``), in that order of precedence::

    status:<code>[:html][:retry|:no_retry]   error status, OpenAI JSON (or a proxy's HTML page)
    rate_limit[:<seconds>][:retry|:no_retry] 429 rate_limit_exceeded, retry-after <seconds> (1)
    quota / too_large                        429 insufficient_quota / "Request too large"
    reset                                    headers, half the body, then the connection drops
    cut:<n>                                  stream drops after n events, no [DONE]
    end:<n>                                  stream ends cleanly after n events, no [DONE]
                                             (nor a Responses terminal event)
    stall:<n>:<seconds>                      stream goes silent after n events, then finishes
    slow_headers:<seconds>                   wait before the response headers
    malformed                                200 whose body (or 2nd SSE event) is broken JSON
    stream_error / stream_error_data         2 events, then an SSE error event / error data line
    stream_error_flat                        2 events, then an SSE error event with code and
                                             message at the top level (not under "error")
    failed                                   a response with status "failed" and an error
                                             (streamed: ending with response.failed); chat: 500
    refusal                                  a refusal instead of the reply (chat and responses)

``:retry`` / ``:no_retry`` add ``x-should-retry: true`` / ``false``. On a plain
(non-stream) request ``cut`` acts as ``reset``, ``end`` as ``malformed``, ``stall``
pauses halfway through the body and the stream errors become a 500; on a stream
``reset`` is ``cut:1``.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http import RawRequestMessage
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

from ._mock.dispatch import Dispatcher, Options, Pending, RecordedRequest
from ._mock.faults import parse_fault
from ._mock.limits import Clock, RateLimiter
from ._mock.responses import default_reply
from ._mock.writer import MockStats
from ._net import is_loopback

__all__ = ["MockServer", "MockStats", "RecordedRequest"]

log = logging.getLogger("rawgpt.testing")
# The largest request body read (aiohttp's own server stops at 1 MiB; OpenAI takes far
# larger ones, images inline). A larger body gets a 413.
MAX_BODY_BYTES = 64 * 1024 * 1024


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


class MockServer:
    """OpenAI's chat completions, responses, embeddings and models endpoints on ``host:port``.

    Start with ``async with`` (or ``await start()`` / ``await stop()``); the CLI
    awaits ``serve_forever()``. ``port=0`` picks a free port. ``fail_status=429``
    makes the random failures ``rate_limit`` faults. ``api_key``, when set, is the
    only bearer token accepted (by default any is); another gets OpenAI's 401
    ``invalid_api_key``, the key shown masked as OpenAI shows it. ``host`` other than
    loopback (``0.0.0.0``: every interface) is allowed with a WARNING on the
    ``rawgpt.testing`` logger. Request bodies up to ``MAX_BODY_BYTES`` (64 MiB) are
    read. ``record_requests=False``
    keeps ``requests`` empty for long benchmark runs. ``clock`` (monotonic
    seconds) drives the rate-limit buckets and can be faked in tests.

    ``latency_ms`` delays every request before it is handled;
    ``latency_jitter_ms`` adds two random delays of up to that much (drawn from
    ``seed``): one before the rate limit sees the request (requests overtake
    each other on the way, so the server admits them in another order than
    they were sent) and one after it is admitted and charged (some take longer
    than others, so answers come back in yet another order), each answer
    carrying the rate-limit headers of its own admission, as OpenAI's do.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0.0,
        latency_jitter_ms: float = 0.0,
        stream_chunks: int | None = None,
        chunk_interval_ms: float = 0.0,
        reply: str | None = None,
        fail_rate: float = 0.0,
        fail_status: int = 500,
        seed: int | None = None,
        rpm: int | None = None,
        tpm: int | None = None,
        fill: float = 1.0,
        quota_exhausted: bool = False,
        api_key: str | None = None,
        record_requests: bool = True,
        clock: Clock | None = None,
    ) -> None:
        _check(min(latency_ms, latency_jitter_ms, chunk_interval_ms) >= 0, "latencies must be >= 0")
        _check(stream_chunks is None or stream_chunks >= 1, "stream_chunks must be >= 1")
        _check(0.0 <= fail_rate <= 1.0, "fail_rate must be between 0 and 1")
        _check(0.0 <= fill <= 1.0, "fill must be between 0 and 1")
        _check(rpm is None or rpm >= 1, "rpm must be >= 1")
        _check(tpm is None or tpm >= 1, "tpm must be >= 1")
        self.host = host
        self.port = port
        options = Options(
            latency=latency_ms / 1000,
            jitter=latency_jitter_ms / 1000,
            interval=chunk_interval_ms / 1000,
            chunks=stream_chunks,
            reply=default_reply(stream_chunks) if reply is None else reply,
            fail_rate=fail_rate,
            fail_fault=parse_fault("rate_limit" if fail_status == 429 else f"status:{fail_status}"),
            seed=seed,
            quota_exhausted=quota_exhausted,
            api_key=api_key,
            record=record_requests,
        )
        limiter = RateLimiter(rpm, tpm, fill=fill, clock=clock or time.monotonic)
        self._dispatcher = Dispatcher(limiter, options)
        self._runner: web.ServerRunner | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port/v1``, the value for a client's ``base_url``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, oldest first (clear it freely)."""
        return self._dispatcher.requests

    @property
    def stats(self) -> MockStats:
        return self._dispatcher.stats

    @property
    def reply(self) -> str:
        """The reply text every chat choice and response gives (before ``max_tokens`` or
        ``max_output_tokens`` truncation)."""
        return self._dispatcher.opts.reply

    def add_fault(self, spec: str, *, times: int = 1) -> None:
        """Give the next ``times`` requests this fault, after the faults already queued.

        Raises ValueError naming ``spec`` when it is not a valid fault spec.
        """
        fault = parse_fault(spec)
        _check(times >= 1, f"times must be >= 1, got {times}")
        self._dispatcher.faults.append(Pending(fault, times))

    def clear_faults(self) -> None:
        """Forget every queued fault."""
        self._dispatcher.faults.clear()

    async def start(self) -> None:
        """Bind and start serving; ``port`` then holds the real port."""
        if self._runner is not None:
            raise RuntimeError("MockServer is already running")
        loop = asyncio.get_running_loop()
        self._dispatcher.closing = loop.create_future()

        def request(
            message: RawRequestMessage,
            payload: StreamReader,
            protocol: RequestHandler,
            writer: AbstractStreamWriter,
            task: asyncio.Task[None],
        ) -> web.BaseRequest:  # aiohttp's own, with a larger body limit
            return web.BaseRequest(
                message, payload, protocol, writer, task, loop, client_max_size=MAX_BODY_BYTES
            )

        server = web.Server(
            self._dispatcher.handle,
            request_factory=request,
            handler_cancellation=True,
            access_log=None,
        )
        runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        if not is_loopback(self.host):
            keys = (
                "only its api_key is let in"
                if self._dispatcher.opts.api_key is not None
                else "any key is let in (set api_key=, or --api-key)"
            )
            log.warning(
                "rawgpt mock server: listening on %s, not loopback: other machines can reach "
                "it; %s",
                self.host or "every interface",
                keys,
            )

    async def stop(self) -> None:
        """Close the listener and every connection; paused or stalled responses drop at once."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        closing = self._dispatcher.closing
        if closing is not None and not closing.done():
            closing.set_result(None)
        await runner.cleanup()

    async def serve_forever(self) -> None:
        """Serve until cancelled or until ``stop()``, then stop (for the CLI)."""
        if self._runner is None:
            await self.start()
        closing = self._dispatcher.closing
        try:
            if closing is not None:
                await asyncio.shield(closing)
        finally:
            await self.stop()

    async def __aenter__(self) -> MockServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
