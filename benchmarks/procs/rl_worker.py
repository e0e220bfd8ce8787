"""One client's run of a rate-limited job, in a fresh process.

    python -m benchmarks.procs.rl_worker '<json plan>'

The plan names the client (``rawgpt``, ``sdk``, ``sdk-backoff``), the server's
base URL, the requests (prompt sizes and ``max_tokens``), the concurrency and a
time cap. Every client runs the same job the same way: ``asyncio.gather`` over
all requests, each holding an ``asyncio.Semaphore(concurrency)`` slot for the
whole call (retries and back-off sleeps included). Prints one ``RESULT <json>``
line: successes, failures by exception type, admitted tokens, and times.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

API_KEY = "sk-bench-not-a-real-key"
MODEL = "gpt-4o-mini"
# The cookbook's recipe ("How to handle rate limits"): backoff.expo on RateLimitError,
# at most 6 tries within 60 s.
BACKOFF_MAX_TRIES = 6
BACKOFF_MAX_TIME = 60.0

Call = Callable[[dict[str, Any]], Awaitable[Any]]


def request_bodies(prompt_chars: list[int], n: int, max_tokens: int) -> list[dict[str, Any]]:
    """``n`` chat bodies whose prompts cycle through ``prompt_chars`` characters."""
    bodies = []
    for i in range(n):
        chars = prompt_chars[i % len(prompt_chars)]
        text = (f"request {i}: " + "lorem ipsum " * (chars // 12 + 1))[:chars]
        bodies.append(
            {
                "model": MODEL,
                "messages": [{"role": "user", "content": text}],
                "max_tokens": max_tokens,
            }
        )
    return bodies


def admission_cost(body: dict[str, Any]) -> int:
    """What OpenAI (and MockServer) charge against TPM: prompt chars / 4 plus max_tokens."""
    chars = sum(len(m["content"]) for m in body["messages"])
    return max(1, chars // 4) + int(body["max_tokens"])


def make_client(kind: str, base_url: str) -> tuple[Call, Callable[[], Awaitable[None]], Any]:
    """The call for one request, how to close the client, and the client itself."""
    if kind == "rawgpt":
        import rawgpt

        rclient = rawgpt.AsyncClient(api_key=API_KEY, base_url=base_url)

        async def rcall(body: dict[str, Any]) -> Any:
            return await rclient.chat.completions.create(**body)

        return rcall, rclient.close, rclient

    import openai

    sclient = openai.AsyncOpenAI(api_key=API_KEY, base_url=base_url)  # max_retries=2 default

    async def scall(body: dict[str, Any]) -> Any:
        return await sclient.chat.completions.create(**body)

    if kind == "sdk":
        return scall, sclient.close, sclient
    if kind == "sdk-backoff":
        import backoff

        wrapped = backoff.on_exception(
            backoff.expo,
            openai.RateLimitError,
            max_tries=BACKOFF_MAX_TRIES,
            max_time=BACKOFF_MAX_TIME,
        )(scall)
        return wrapped, sclient.close, sclient
    raise SystemExit(f"unknown client {kind!r}")


async def run(plan: dict[str, Any]) -> dict[str, Any]:
    bodies = request_bodies(plan["prompt_chars"], plan["requests"], plan["max_tokens"])
    call, close, client = make_client(plan["client"], plan["base_url"])
    sem = asyncio.Semaphore(plan["concurrency"])
    done_at: list[float] = []
    tokens = 0
    errors: Counter[str] = Counter()
    start = time.monotonic()

    async def one(body: dict[str, Any]) -> None:
        nonlocal tokens
        async with sem:
            try:
                await call(body)
            except Exception as exc:  # a call that finally failed, whatever the cause
                errors[type(exc).__name__] += 1
                return
        done_at.append(time.monotonic() - start)
        tokens += admission_cost(body)

    tasks = [asyncio.ensure_future(one(b)) for b in bodies]
    _, pending = await asyncio.wait(tasks, timeout=plan["time_cap"])
    end = time.monotonic() - start
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
        errors["unfinished at time cap"] += len(pending)
    limiter = getattr(client, "rate_limiter", None)
    snapshot = limiter.snapshot() if limiter is not None else None
    await close()
    return {
        "client": plan["client"],
        "requests": len(bodies),
        "ok": len(done_at),
        "failed": sum(errors.values()),
        "errors": dict(errors),
        "admitted_tokens": tokens,
        "wall": end,
        "first_ok": min(done_at, default=float("nan")),
        "last_ok": max(done_at, default=float("nan")),
        "limiter": snapshot,
    }


def main() -> None:
    plan = json.loads(sys.argv[1])
    result = asyncio.run(run(plan))
    print("RESULT " + json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    main()
