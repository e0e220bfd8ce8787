"""A Redis URL's password (issue 14): in no log line and no repr, whichever form it takes."""

from __future__ import annotations

import logging

import pytest

from rawgpt import RedisRateLimiter
from rawgpt._ratelimit.redis.limiter import safe_url

from ..redis_server import free_port

KEY = ("http://api/v1", "gpt-4o-mini")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:hunter2@h:6379/0", "redis://:***@h:6379/0"),
        ("redis://bob:hunter2@h/0", "redis://bob:***@h/0"),
        ("rediss://h:6380/0?password=hunter2", "rediss://h:6380/0?password=***"),
        ("redis://h/0?db=1&password=hunter2&x=1", "redis://h/0?db=1&password=***&x=1"),
        (
            "unix:///run/redis.sock?db=0&password=hunter2",
            "unix:///run/redis.sock?db=0&password=***",
        ),
        ("redis://h:6379/0", "redis://h:6379/0"),
    ],
)
def test_safe_url_masks_every_password_form(url: str, shown: str) -> None:
    assert safe_url(url) == shown
    assert "hunter2" not in repr(RedisRateLimiter(url))


async def test_a_query_password_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="rawgpt")
    url = f"redis://127.0.0.1:{free_port()}/0?password=hunter2"
    async with RedisRateLimiter(url, namespace="secrets") as lim:
        await lim.acquire(KEY, 1, deadline=lim.now() + 1.0)
        assert not lim.shared
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "password=***" in warnings[0]
    assert all("hunter2" not in r.getMessage() for r in caplog.records)
