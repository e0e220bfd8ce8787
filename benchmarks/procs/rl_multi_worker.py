"""One of the N worker processes of the multi-process rate-limit benchmark.

    python -m benchmarks.procs.rl_multi_worker '<json plan>'

The plan gives the server's base URL, this worker's share of the job (request
indices), its concurrency, the limiter (``redis`` with a URL and namespace, or
``local``: the default in-process limiter), the per-call deadline and a time
cap. The worker builds its client, prints ``READY`` and waits for ``GO`` on
stdin, so all workers start together. It then runs its share with
``asyncio.gather`` + ``asyncio.Semaphore`` and prints one ``RESULT <json>``
line: successes, failures by exception type, admitted tokens, wall-clock start
and end (``time.time()``, comparable across the workers), the slowest call,
and the limiter's WARNING lines.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections import Counter
from typing import Any

from benchmarks.procs.rl_worker import API_KEY, admission_cost, request_bodies


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{time.time():.3f} {record.getMessage()}")


async def run(plan: dict[str, Any]) -> dict[str, Any]:
    import rawgpt

    warnings = _Warnings()
    logging.getLogger("rawgpt").addHandler(warnings)
    all_bodies = request_bodies(plan["prompt_chars"], plan["total"], plan["max_tokens"])
    bodies = all_bodies[plan["index"] :: plan["workers"]]
    limiter: Any = None
    if plan["limiter"] == "redis":
        limiter = rawgpt.RedisRateLimiter(plan["redis_url"], namespace=plan["namespace"])
    retry = rawgpt.Retry(deadline=plan["deadline"])  # the default 2 retries, plus a deadline
    client = rawgpt.AsyncClient(
        api_key=API_KEY, base_url=plan["base_url"], rate_limiter=limiter, retry=retry
    )
    sem = asyncio.Semaphore(plan["concurrency"])
    errors: Counter[str] = Counter()
    messages: dict[str, str] = {}
    ends: list[float] = []
    slowest = 0.0
    tokens = 0
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    start = time.time()

    async def one(body: dict[str, Any]) -> None:
        nonlocal slowest, tokens
        async with sem:
            began = time.monotonic()
            try:
                await client.chat.completions.create(**body)
            except Exception as exc:  # a call that finally failed, whatever the cause
                errors[type(exc).__name__] += 1
                messages.setdefault(type(exc).__name__, str(exc)[:160])
                return
            finally:
                slowest = max(slowest, time.monotonic() - began)
                ends.append(time.time())
        tokens += admission_cost(body)

    tasks = [asyncio.ensure_future(one(b)) for b in bodies]
    _, pending = await asyncio.wait(tasks, timeout=plan["time_cap"])
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
        errors["unfinished at time cap"] += len(pending)
    snapshot = client.rate_limiter.snapshot() if client.rate_limiter is not None else None
    await client.close()
    if limiter is not None:
        await limiter.aclose()
    return {
        "index": plan["index"],
        "requests": len(bodies),
        "ok": len(bodies) - sum(errors.values()),
        "failed": sum(errors.values()),
        "errors": dict(errors),
        "messages": messages,
        "admitted_tokens": tokens,
        "start": start,
        "end": max(ends, default=start),
        "slowest": slowest,
        "warnings": warnings.lines,
        "limiter": snapshot,
    }


def main() -> None:
    plan = json.loads(sys.argv[1])
    result = asyncio.run(run(plan))
    print("RESULT " + json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    main()
