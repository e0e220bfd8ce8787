"""The shared rate limit: one budget in Redis for every process and machine.

``scripts`` (the Lua scripts and the typed calls into them) -> ``queue`` (the
per-process FIFO in front of Redis) -> ``limiter`` (RedisRateLimiter, with an
in-process RateLimiter to fall back on). Only this subpackage imports redis-py.
"""

from .limiter import RedisRateLimiter

__all__ = ["RedisRateLimiter"]
