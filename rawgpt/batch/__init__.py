"""The batch runner: a JSONL file of requests through an AsyncClient, resumable and crash-safe.

::

    from rawgpt.batch import run_batch

    summary = await run_batch("requests.jsonl", "results.jsonl", concurrency=32)
    summary.succeeded, summary.failed, summary.cost_usd

Input lines are OpenAI Batch API requests (``custom_id``, ``method: "POST"``,
``url``: ``/v1/chat/completions``, ``/v1/embeddings`` or ``/v1/responses``,
``body``) or plain
request bodies, whose custom_id is ``line-<n>`` (a Batch API line must carry
its own custom_id). Answers are appended to the
output file in the Batch API output format; failed requests (after the
client's retries) and bad input lines go to the errors file (default: the
output's name with ``.errors.jsonl``), with the input line number. Every
result is written the moment it completes (see ``rawgpt.batch.io`` for the fsync
policy), so a kill loses at most the requests in flight.

Running again with the same files resumes: ids already in the output or the
errors file are skipped (``retry_errors=True`` sends the errors again and drops
them from the errors file first); a torn last line is repaired. At the end
every input custom_id is in exactly one of the two files. Duplicate custom_ids
raise ``DuplicateCustomIdError`` before anything is sent; an existing output or
errors file with a line rawgpt did not write raises ``ForeignFileError`` and is
left untouched; a second run on the same files while one is running raises
``OutputInUseError``. Files rawgpt creates are private (mode 0600). ``stop()`` (the CLI
calls it on SIGINT / SIGTERM) stops new sends and waits up to ``grace``
seconds for the ones in flight; a second ``stop()`` abandons them at once.

``shard="I/N"`` runs only shard I of N (a stable hash of the custom_id): N
machines split one input, each with its own output, one RedisRateLimiter budget.
"""

from .input import DuplicateCustomIdError
from .io import ForeignFileError, OutputInUseError
from .progress import BatchSummary
from .runner import BatchRunner, run_batch

__all__ = [
    "BatchRunner",
    "BatchSummary",
    "DuplicateCustomIdError",
    "ForeignFileError",
    "OutputInUseError",
    "run_batch",
]
