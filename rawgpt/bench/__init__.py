"""Load-test an OpenAI-compatible endpoint, and see what the client itself costs.

``rawgpt bench`` (``rawgpt/cli/bench.py``) is the front end; this family is the
measuring core, usable from Python too::

    from rawgpt.bench import Target, Workload, run, summarize

    runs = await run(["rawgpt", "sdk"], Target(url, "OPENAI_API_KEY"),
                     Workload(model="gpt-4o-mini", requests=100, concurrency=8))
    summarize(runs["rawgpt"]).ttft_ms.p50

Parts, one concept each: ``workload`` (options, Poisson arrivals, rounds),
``prompts`` (the bodies), ``measure`` (one timed request), ``record`` (its
figures), ``drivers`` (the clients), ``worker`` (a client's own process),
``runner`` (the parent: processes, interleaved rounds), ``mockproc`` (the
built-in paced mock server), ``stats`` and ``slo`` (percentiles, goodput),
``table``, ``files`` (JSON, CSV), ``plot``, ``progress`` and ``safety``.
The family imports only rawgpt's public names (and ``rawgpt.testing``'s
command); the SDK is imported only inside its worker process.
"""

from __future__ import annotations

from .runner import BenchError, ClientRun, Target, run
from .stats import Summary, summarize
from .workload import Workload

__all__ = ["BenchError", "ClientRun", "Summary", "Target", "Workload", "run", "summarize"]
