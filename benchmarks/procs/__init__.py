"""Child processes the benchmarks start (``python -m benchmarks.procs.X``): servers, workers."""
