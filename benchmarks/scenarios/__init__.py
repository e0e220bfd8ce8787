"""One benchmark per module, each run alone: ``python -m benchmarks.scenarios.X [ARGS]``, or
``python -m benchmarks X [ARGS]``."""
