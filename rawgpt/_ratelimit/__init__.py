"""Rate limiting: the header-driven limiter every client uses by default.

``limiter`` (RateLimiter: waiting in line, admission, release) keeps a ``state``
(KeyState, Ticket) per (base_url, model), made of ``bucket``s and a ``breaker``,
taught by ``headers`` (OpenAI's x-ratelimit-* and retry hints) and charged by
``estimate`` (the tokens a request body counts at admission). ``redis/`` shares
one budget across processes. From outside the family it imports ``_errors``
and ``_retry`` (the one reader of retry-after, and which 429s no wait can fix),
nothing else of rawgpt's; outside it, only this package and ``redis/`` are
imported, never their modules.
"""

from .limiter import Limiter, RateLimiter
from .state import Ticket

__all__ = ["Limiter", "RateLimiter", "Ticket"]
