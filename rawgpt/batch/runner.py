"""BatchRunner and run_batch: requests from a JSONL file through an AsyncClient."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Generator
from typing import Any, TextIO

from .._client import AsyncClient
from .._prices import PRICES_DATE
from .input import BadLine, Job, read_jobs
from .io import Appender, check_distinct, default_errors_path, exclusive, prepare
from .progress import BatchSummary, Progress, peak_rss_mb
from .records import bad_input, failure, is_fatal, success
from .shard import Shard, parse_shard

PathLike = str | os.PathLike[str]


class BatchRunner:
    """Runs one input file through ``client`` with ``concurrency`` workers."""

    def __init__(
        self,
        client: AsyncClient,
        requests: PathLike,
        output: PathLike,
        *,
        errors: PathLike | None = None,
        concurrency: int = 64,
        retry_errors: bool = False,
        grace: float = 10.0,
        progress: TextIO | None = None,
        progress_interval: float | None = None,
        fsync_interval: float = 1.0,
        prices: str | None = None,
        shard: Shard | str | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        if grace < 0:
            raise ValueError(f"grace must be >= 0, got {grace}")
        self.client = client
        self.requests = os.fspath(requests)
        self.output = os.fspath(output)
        self.errors = os.fspath(errors) if errors is not None else str(default_errors_path(output))
        check_distinct(self.requests, self.output, self.errors)
        self.concurrency = concurrency
        self.retry_errors = retry_errors
        self.grace = grace
        self.fsync_interval = fsync_interval
        self.shard = None if shard is None else parse_shard(shard)
        self.summary = BatchSummary(prices=prices or _prices_label(client))
        self._progress = (
            None
            if progress is None
            else Progress(self.summary, progress, interval=progress_interval)
        )
        self._stopping = asyncio.Event()
        self._force = asyncio.Event()
        self._failure: BaseException | None = None
        self._out: Appender | None = None
        self._err: Appender | None = None

    def stop(self, reason: str = "stopped") -> None:
        """Send nothing new; a second call also abandons the requests in flight."""
        if self._stopping.is_set():
            self._force.set()
            return
        if self.summary.stopped is None and self.summary.fatal is None:
            self.summary.stopped = reason
        self._stopping.set()

    async def run(self) -> BatchSummary:
        """Run to the end (or until stopped); the summary. Raises DuplicateCustomIdError,
        ForeignFileError or OutputInUseError before anything is sent."""
        start = time.monotonic()
        s = self.summary
        with exclusive(self.output, self.errors):  # OutputInUseError if another run has them
            skip = prepare(
                self.requests, self.output, self.errors, self.retry_errors, s, self.shard
            )
            try:
                if s.to_do:
                    await self._run(read_jobs(self.requests, skip))
            finally:
                s.wall_time = time.monotonic() - start
                s.peak_rss_mb = peak_rss_mb()
                if self._progress is not None:
                    self._progress.report(self.output, self.errors)
        if self._failure is not None:
            raise self._failure
        return s

    async def _run(self, items: Generator[Job | BadLine, None, None]) -> None:
        self._out = Appender(self.output, fsync_interval=self.fsync_interval)
        self._err = Appender(self.errors, fsync_interval=self.fsync_interval)
        self.client.add_hook(self.summary.add_event)
        drawing = None if self._progress is None else asyncio.create_task(self._progress.run())
        workers = [
            asyncio.create_task(self._worker(items))
            for _ in range(min(self.concurrency, self.summary.to_do))
        ]
        try:
            await self._drive(workers)
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            if drawing is not None:
                drawing.cancel()
            self.client.usage.hooks.remove(self.summary.add_event)
            items.close()
            try:
                self._out.close()
            finally:
                self._err.close()

    async def _drive(self, workers: list[asyncio.Task[None]]) -> None:
        """Wait for the workers; once stopped, give the ones in flight ``grace`` seconds."""
        finished: asyncio.Future[Any] = asyncio.gather(*workers, return_exceptions=True)
        stopping: asyncio.Future[Any] = asyncio.ensure_future(self._stopping.wait())
        forced: asyncio.Future[Any] = asyncio.ensure_future(self._force.wait())
        try:
            await asyncio.wait({finished, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not finished.done():
                await asyncio.wait(
                    {finished, forced}, timeout=self.grace, return_when=asyncio.FIRST_COMPLETED
                )
            if not finished.done():
                self.summary.abandoned = self.summary.in_flight
        finally:
            stopping.cancel()
            forced.cancel()

    async def _worker(self, items: Generator[Job | BadLine, None, None]) -> None:
        s = self.summary
        out, err = self._out, self._err
        assert out is not None and err is not None
        try:
            while not self._stopping.is_set():
                item = next(items, None)
                if item is None:
                    return
                if isinstance(item, BadLine):
                    err.write(bad_input(item))
                    s.invalid += 1
                    continue
                s.in_flight += 1
                try:
                    response = await self.client.post(item.path, item.body)
                except Exception as exc:
                    if is_fatal(exc):
                        s.fatal = s.fatal or str(exc)
                        self._stopping.set()
                        return
                    err.write(failure(item, exc))
                    s.failed += 1
                else:
                    out.write(success(item, response))
                    s.succeeded += 1
                finally:
                    s.in_flight -= 1
        except Exception as exc:  # a write failed (disk full?): stop the whole run
            self._failure = self._failure or exc
            self._stopping.set()
            self._force.set()


def _prices_label(client: AsyncClient) -> str:
    if client.usage.prices is None:
        return f"the built-in price table of {PRICES_DATE}"
    return "the client's price table"


async def run_batch(
    requests: PathLike,
    output: PathLike,
    *,
    client: AsyncClient | None = None,
    errors: PathLike | None = None,
    concurrency: int = 64,
    retry_errors: bool = False,
    grace: float = 10.0,
    progress: TextIO | None = None,
    shard: Shard | str | None = None,
    **settings: Any,
) -> BatchSummary:
    """Run ``requests`` into ``output`` (see the ``rawgpt.batch`` docstring); the summary.

    Pass a ``client``, or the AsyncClient settings (``api_key=``, ``base_url=``,
    ``rate_limiter=``, ``prices=`` ...) to run on a client of its own.
    ``progress=sys.stderr`` shows the progress line and the summary.
    """
    options: dict[str, Any] = {
        "errors": errors,
        "concurrency": concurrency,
        "retry_errors": retry_errors,
        "grace": grace,
        "progress": progress,
        "shard": shard,
    }
    if client is not None:
        if settings:
            raise TypeError("pass either client= or client settings, not both")
        return await BatchRunner(client, requests, output, **options).run()
    async with AsyncClient(**settings) as own:
        return await BatchRunner(own, requests, output, **options).run()
