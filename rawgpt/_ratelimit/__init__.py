"""Rate limiting: the header-driven limiter every client uses by default.

``limiter`` (RateLimiter: waiting in line, admission, release) keeps a ``state``
(KeyState, Ticket) per (base_url, model), made of ``bucket``s and a ``breaker``,
taught by ``headers`` (OpenAI's x-ratelimit-* and retry hints) and charged by
``estimate`` (the tokens a request body counts at admission). ``redis/`` shares
one budget across processes. The family imports ``_errors`` and ``_config``
from outside, nothing else of rawgpt's.
"""

from .limiter import Limiter, RateLimiter
from .state import Ticket

__all__ = ["Limiter", "RateLimiter", "Ticket"]
