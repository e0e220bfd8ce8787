"""What a cookie jar costs per request against api.openai.com, in-process.

OpenAI's edge (Cloudflare) sets two cookies on every answer, ``__cf_bm`` and
``_cfuvid`` (the fields below are shaped like a live response's, from a
recorded 2025 cassette, with made-up values). aiohttp's default ``CookieJar``
parses and stores them from every response and filters them into every
request; rawgpt builds its session with ``DummyCookieJar``, which does neither.
Over loopback by IP address aiohttp's jar refuses cookies before parsing them,
which is why the canned-server benchmarks do not show this cost; this script
measures it directly: ``python -m benchmarks.scenarios.cookies``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

_SET_COOKIE = (
    "__cf_bm=Hk3N0aW5nLXRva2VuLWZvci10aGUtYmVuY2htYXJrLW9ubHktbm90LWEtcmVhbC1vbmU-1759532006"
    "-1.0.1.1-5Kej1jt9GcQ_WClzAMC0BKCsC7Xj52ANLuCJDsph4jCuQ3spp7E0jG3AlWzuUDOtPDi1nIUZcI8F;"
    " path=/; expires=Fri, 03-Oct-35 23:23:26 GMT; domain=.api.openai.com; HttpOnly; Secure;"
    " SameSite=None",
    "_cfuvid=ZQSPZNBv6nDL5Ktr2fH3qaFl3QQ.Un9uFgSCb6N3V9Y-1759532006304-0.0.1.1-604800000;"
    " path=/; domain=.api.openai.com; HttpOnly; Secure; SameSite=None",
)


async def per_request_us(dummy: bool, n: int = 20_000) -> float:
    """Microseconds per request the jar spends: one response's cookies in, one request's out."""
    import aiohttp
    from yarl import URL

    url = URL("https://api.openai.com/v1/chat/completions")
    jar: aiohttp.abc.AbstractCookieJar = aiohttp.DummyCookieJar() if dummy else aiohttp.CookieJar()
    update = getattr(jar, "update_cookies_from_headers", None)
    if update is None:  # aiohttp before 3.12: what its session did with Set-Cookie then
        from http.cookies import SimpleCookie

        def update(fields: tuple[str, ...], url: URL) -> None:
            for field in fields:
                jar.update_cookies(SimpleCookie(field), url)

    started = time.perf_counter()
    for _ in range(n):
        update(_SET_COOKIE, url)
        jar.filter_cookies(url)
    return (time.perf_counter() - started) / n * 1e6


async def _main() -> None:
    default = min([await per_request_us(False) for _ in range(3)])
    dummy = min([await per_request_us(True) for _ in range(3)])
    print(f"aiohttp CookieJar (bare aiohttp's default): {default:.1f} us per request")
    print(f"aiohttp DummyCookieJar (rawgpt):            {dummy:.1f} us per request")


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    asyncio.run(_main())
    return 0


if __name__ == "__main__":
    sys.exit(main())
