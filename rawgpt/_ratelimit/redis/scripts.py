"""The Lua scripts behind RedisRateLimiter: admission and release, atomic inside Redis.

One hash per (base_url, model) holds what ``KeyState`` holds in process:

    learned       1 once rate-limit headers (or rpm/tpm without headers) set the buckets
    rl rv rs      request bucket: limit per minute, level, stamp (Redis TIME, seconds)
    tl tv ts      token bucket: the same
    rc tc         requests and tokens charged so far: the marks tickets learn against
    ft            tokens in flight (the leases' costs)
    la            when headers last taught the limits (0: never, or from rpm/tpm)
    szc           1 once the token limit is confirmed (the server's "Request too large",
                  or the user's own tpm): only then does it refuse a larger request
    szp           until when a larger request is out testing an unconfirmed token limit
    cd            cool-down until (Redis TIME)
    win           the slow-start window while nothing is learned

and three more keys go with it: a sorted set of in-flight leases (member: the
request's number and cost, score: when the lease lapses), so a crashed process's
requests stop counting against the slow-start window after ``lease`` seconds;
a sorted set of the limiters (processes) that asked lately, so that if Redis
fails each knows its share; and a hash of the heads waiting in line across
processes (see ADMIT). Every key gets a PEXPIRE on every call: abandoned state
disappears by itself.

Every clock reading is ``redis.call('TIME')``: machines with skewed clocks agree.
Floats leave Lua as strings (Lua numbers would be truncated to integers). Each
reply ends with the view the snapshot shows: learned, rl, rv, tl, tv (-1 when
unknown), win, leases in flight, seconds of cool-down left, limiters sharing,
and whether the token limit is confirmed. The rules are ``KeyState``'s.

``Scripts`` is the only caller of the scripts: it owns the connection to Redis
(one per event loop), bounds every call by a time budget, keeps the health of
the link, and turns each reply into a named record (``Admission``, ``Released``,
``View``), so nothing else counts positions in a reply or in ARGV.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, NamedTuple

from ..limiter import deadline_error

# State in, helpers, state out: shared by both scripts.
_PRELUDE = """
local s, leases, members = KEYS[1], KEYS[2], KEYS[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local f = redis.call('HMGET', s, 'learned', 'rl', 'rv', 'rs', 'tl', 'tv', 'ts', 'rc', 'tc',
                     'cd', 'win', 'ft', 'la', 'szc', 'szp')
local learned = f[1] == '1'
local rl, rv, rs = tonumber(f[2]), tonumber(f[3]), tonumber(f[4])
local tl, tv, ts = tonumber(f[5]), tonumber(f[6]), tonumber(f[7])
local rc, tc = tonumber(f[8]) or 0, tonumber(f[9]) or 0
local cd, win, ft = tonumber(f[10]) or 0, tonumber(f[11]) or 1, tonumber(f[12]) or 0
local la, szc, szp = tonumber(f[13]) or 0, f[14] == '1', tonumber(f[15]) or 0
local lapsed = redis.call('ZRANGEBYSCORE', leases, '-inf', now)
if #lapsed > 0 then  -- their tokens leave the count at once: some answers return unsaved
  for _, lease in ipairs(lapsed) do ft = ft - tonumber(string.match(lease, ':(%S+)$')) end
  redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
  redis.call('HSET', s, 'ft', string.format('%.17g', math.max(0, ft)))
end

local function g(x) return string.format('%.17g', x) end
local function refill(limit, level, stamp)
  if now > stamp then
    level = level + (now - stamp) * limit / 60
    if level > limit then level = limit end
  end
  return level
end
local function clamp(level, limit) return math.max(-limit, math.min(level, limit)) end
local function save(ttl)
  local fields = {'learned', learned and '1' or '0', 'rc', g(rc), 'tc', g(tc), 'cd', g(cd),
                  'win', g(win), 'ft', g(math.max(0, ft)), 'la', g(la),
                  'szc', szc and '1' or '0', 'szp', g(szp)}
  if rl then for _, v in ipairs({'rl', g(rl), 'rv', g(rv), 'rs', g(rs)}) do
    table.insert(fields, v) end
  else redis.call('HDEL', s, 'rl', 'rv', 'rs') end
  if tl then for _, v in ipairs({'tl', g(tl), 'tv', g(tv), 'ts', g(ts)}) do
    table.insert(fields, v) end
  else redis.call('HDEL', s, 'tl', 'tv', 'ts') end
  redis.call('HSET', s, unpack(fields))
  for _, k in ipairs(KEYS) do redis.call('PEXPIRE', k, ttl) end
end
local function view(reply)
  for _, v in ipairs({learned and '1' or '0', rl and g(rl) or '-1',
                      rl and g(refill(rl, rv, rs)) or '-1', tl and g(tl) or '-1',
                      tl and g(refill(tl, tv, ts)) or '-1', g(win),
                      tostring(redis.call('ZCARD', leases)), g(math.max(0, cd - now)),
                      tostring(redis.call('ZCOUNT', members, now, '+inf')),
                      szc and '1' or '0'}) do
    table.insert(reply, v)
  end
  return reply
end
"""

# ARGV: cost, lease seconds, key ttl ms, slow-start poll seconds, limiter id, seconds it
# counts as a member after asking, queue number (0: none yet), longest wait the caller
# accepts (-1: any). Reply: {'ok', request number, tokens mark, requests and tokens in flight
# before it, 1 if it tests an unconfirmed token limit it exceeds, view...} | {'wait', seconds,
# time unknown 0/1, queue number, view...} | {'big', confirmed token limit, view...}
#
# A request above an unconfirmed token limit is let through one at a time (no wait for a
# full token bucket, charged the whole bucket) to find out whether the server takes it.
#
# FIFO across processes: a head told to wait gets a queue number and an entry in the queue
# hash (number -> "cost lapse"); a head is admitted only when the buckets also hold what
# every older waiting head needs, and its wait counts their demand too. So small requests
# cannot starve a large one, and the heads of N processes wake one after the other, not
# all at once. An entry lapses if its head does not come back (0.5 s after its time).
ADMIT = (
    _PRELUDE
    + """
local cost, lease, ttl, poll = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local qn, most, queue = tonumber(ARGV[7]), tonumber(ARGV[8]), KEYS[4]
redis.call('ZREMRANGEBYSCORE', members, '-inf', now)
redis.call('ZADD', members, now + tonumber(ARGV[6]), ARGV[5])
redis.call('PEXPIRE', members, ttl)
local oversize = tl and cost > tl
if oversize and szc then return view({'big', g(tl)}) end
local wait, full = cd - now, 0
if wait <= 0 then
  wait = 0
  if not learned then
    if redis.call('ZCARD', leases) >= win then wait, full = poll, 1 end
  else
    local n, tokens = 0, 0  -- what the older waiting heads need before us
    local entries = redis.call('HGETALL', queue)
    for i = 1, #entries, 2 do
      local id = tonumber(entries[i])
      local need, lapse = string.match(entries[i + 1], '(%S+) (%S+)')
      if tonumber(lapse) <= now then
        redis.call('HDEL', queue, entries[i])
      elseif id ~= qn and (qn == 0 or id < qn) then
        n, tokens = n + 1, tokens + tonumber(need)
      end
    end
    if rl then
      rv, rs = refill(rl, rv, rs), now
      if n + 1 - rv > 1e-6 then wait = (n + 1 - rv) * 60 / rl end
    end
    if tl then
      tv, ts = refill(tl, tv, ts), now
      local missing = tokens + math.min(cost, tl) - tv
      if oversize then
        if szp > now then wait, full = math.max(wait, poll), 1 end  -- one test at a time
      elseif missing > 1e-6 then
        wait = math.max(wait, missing * 60 / tl)
      end
    end
  end
end
if wait > 0 then
  if qn == 0 then qn = redis.call('HINCRBY', s, 'qc', 1) end
  if learned and (most < 0 or wait <= most) then  -- keep our place (cool-downs included)
    redis.call('HSET', queue, qn, cost .. ' ' .. g(now + wait + 0.5))
    redis.call('PEXPIRE', queue, ttl)
  else  -- slow start has no line; a head that cannot wait so long leaves it
    redis.call('HDEL', queue, qn)
  end
  return view({'wait', g(wait), tostring(full), tostring(qn)})
end
if qn > 0 then redis.call('HDEL', queue, qn) end
local ahead_req, ahead_tok = redis.call('ZCARD', leases), ft
rc, tc, ft = rc + 1, tc + cost, ft + cost
if rl then rv = rv - 1 end
if tl then tv = tv - math.min(cost, tl) end
if oversize then szp = now + lease end
redis.call('ZADD', leases, now + lease, g(rc) .. ':' .. ARGV[1])
save(ttl)
return view({'ok', g(rc), g(tc), tostring(ahead_req), g(ahead_tok), oversize and '1' or '0'})
"""
)

# ARGV: request number, cost, sent, known, ok, limited (0/1 each), seconds since the send,
# request mark, token mark, seen request limit, remaining, seen token limit, remaining
# (-1 when unusable), rpm cap, tpm cap (0: none), learn margin, cool-down seconds, ttl ms,
# requests and tokens in flight before it at its admission, it tested the token limit,
# the answer was "Request too large" (0/1 each), seconds after which unrepeated limits go.
# Learning follows KeyState.learn: the books move only into the bounds one answer sets;
# KeyState.sized and KeyState.forget say when limits are confirmed or forgotten.
# Reply: {'done', flags (1 requests learned, 2 tokens learned, 4 cool-down extended,
# 8 limits forgotten, 16 token limit forgotten), view...}
RELEASE = (
    _PRELUDE
    + """
local a = {}
for i = 1, 23 do a[i] = tonumber(ARGV[i]) end
local cost, sent, known, ok, limited = a[2], a[3] == 1, a[4] == 1, a[5] == 1, a[6] == 1
local elapsed, margin, cool = a[7], a[16], a[17]
local flags = 0
if redis.call('ZREM', leases, ARGV[1] .. ':' .. ARGV[2]) == 1 then ft = ft - cost end
if not sent then
  if rl then rv, rs = math.min(rl, refill(rl, rv, rs) + 1), now end
  local charged = cost
  if a[21] == 1 and tl then charged = math.min(cost, tl) end  -- a test was charged the bucket
  if tl then tv, ts = math.min(tl, refill(tl, tv, ts) + charged), now end
end
local got = false
for kind = 1, 2 do
  local seen, left, cap, uncounted
  if kind == 1 then seen, left, cap, uncounted = a[10], a[11], a[14], rc - a[8] + a[19]
  else seen, left, cap, uncounted = a[12], a[13], a[15], tc - a[9] + a[20] end
  if seen > 0 then
    got = true
    local limit = seen
    if cap > 0 then limit = math.min(seen, cap) end
    local rate = seen / 60
    local slack = 0
    if margin > 0 then slack = 1 + rate * margin end
    local highest = left + elapsed * rate - slack
    local level = left - slack - uncounted  -- the lowest it can have: a new bucket's level
    local old, cur, stamp
    if kind == 1 then old, cur, stamp = rl, rv, rs else old, cur, stamp = tl, tv, ts end
    if old then
      local book = refill(old, cur, stamp)
      if cap > 0 then level = math.min(book, highest)
      else level = math.min(math.max(book, level), highest) end
    end
    if old ~= limit then
      flags = flags + kind
      if kind == 2 then szc = cap > 0 and limit >= cap end  -- the user's own tpm is law
    end
    if kind == 1 then rl, rv, rs = limit, clamp(level, limit), now
    else tl, tv, ts = limit, clamp(level, limit), now end
  end
end
if got then
  learned, la = true, now
elseif learned and ok and sent and known and la > 0 and now - la > a[23] then
  learned, rl, tl, la, szc = false, nil, nil, 0, false  -- no answer repeats them: forget
  win = math.max(1, redis.call('ZCARD', leases))
  flags = flags + 8
elseif not learned and sent and known then
  if limited then
    win = math.max(1, math.floor(win / 2))
  elseif ok and (a[14] > 0 or a[15] > 0) then  -- at most a bucket's worth charged already
    if a[14] > 0 then rl, rv, rs = a[14], a[14] - math.min(rc, a[14]), now end
    if a[15] > 0 then tl, tv, ts, szc = a[15], a[15] - math.min(tc, a[15]), now, true end
    learned = true
  elseif ok then
    win = math.min(win * 2, 4096)
  end
end
if a[21] == 1 then  -- it tested the token limit
  szp = 0
  if sent and known and ok and tl and cost > tl then  -- the server took it: the limit is wrong
    tl = nil
    flags = flags + 16
    if not rl then learned = false end
  elseif a[22] == 1 and tl and cost > tl then  -- the server's "Request too large": confirmed
    szc = true
  end
end
if cool > 0 and now + cool > cd then
  cd = now + cool
  flags = flags + 4
end
save(ARGV[18])
return view({'done', tostring(flags)})
"""
)


class View(NamedTuple):
    """The shared state as one reply saw it (what ends every reply)."""

    learned: bool
    limit_requests: float  # -1: not known
    remaining_requests: float
    limit_tokens: float
    remaining_tokens: float
    window: float  # the shared slow-start window
    in_flight: int  # leases not yet released or lapsed
    cooldown: float  # seconds left
    members: int  # limiters that asked lately
    size_confirmed: bool  # the token limit refuses larger requests

    @classmethod
    def read(cls, reply: list[Any]) -> View:
        learned, rl, rv, tl, tv, window, inflight, cooldown, members, confirmed = reply[-10:]
        return cls(
            learned == b"1",
            float(rl),
            float(rv),
            float(tl),
            float(tv),
            float(window),
            int(inflight),
            float(cooldown),
            int(members),
            confirmed == b"1",
        )

    def refuses(self, cost: int) -> float | None:
        """The confirmed token limit that refuses a request of ``cost``, if one does."""
        limit = self.token_limit
        return limit if limit is not None and cost > limit and self.size_confirmed else None

    @property
    def token_limit(self) -> float | None:
        return self.limit_tokens if self.limit_tokens > 0 else None


class Admission(NamedTuple):
    """ADMIT's answer: ``verdict`` "ok" (with the marks), "wait" or "big" (with the limit)."""

    verdict: str
    req_mark: int = 0  # ok: the request's number, the shared counters at admission
    tok_mark: int = 0
    req_ahead: int = 0  # ok: the requests and tokens in flight before it
    tok_ahead: int = 0
    oversize: bool = False  # ok: it tests an unconfirmed token limit it exceeds
    wait: float = 0.0  # wait: seconds, whether that time is known (else: look again)
    known: bool = True
    queued: int = 0  # wait: our number in the cross-process line
    token_limit: float = 0.0  # big: the shared token limit the request exceeds
    view: View | None = None


class Released(NamedTuple):
    """RELEASE's answer: what the outcome taught every process."""

    learned_requests: bool
    learned_tokens: bool
    cooled: bool
    forgot: bool  # limits no answer repeated
    forgot_tokens: bool  # a token limit the server took a larger request past
    view: View


class Scripts:
    """ADMIT and RELEASE on this event loop's connection, each call within ``budget`` seconds.

    ``connect()`` builds a redis-py client (nothing connects before first use);
    a failed or slow call returns None, marks the link down and calls
    ``on_outage(exc)`` once per outage; ``probe()`` finds it back. The settings
    every ADMIT carries (lease, ttl, poll, this limiter's id, how long it counts
    as a member) and RELEASE's caps (rpm, tpm, learn margin) are fixed here.
    """

    def __init__(
        self,
        connect: Callable[[], Any],
        *,
        errors: tuple[type[BaseException], ...],
        budget: float,
        probe_interval: float,
        clock: Callable[[], float],
        on_outage: Callable[[BaseException], None],
        lease: float,
        ttl_ms: int,
        poll: float,
        member: str,
        member_for: float,
        caps: tuple[int, int, float],
        forget_after: float,
    ) -> None:
        self._connect = connect
        self._errors = errors
        self._budget = budget
        self._probe_interval = probe_interval
        self._clock = clock
        self._on_outage = on_outage
        self._admit_args = (lease, ttl_ms, poll, member, member_for)
        self._caps = caps
        self._forget_after = forget_after
        self._ttl_ms = ttl_ms
        self._redis: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop self._redis belongs to
        self._scripts: tuple[Any, Any] = (None, None)
        self.healthy = True  # False: Redis failed; probe again from retry_at on
        self.retry_at = 0.0

    def bind(self) -> None:
        """Use this event loop's connection (connections belong to one loop)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._redis = loop, self._connect()
            register = self._redis.register_script
            self._scripts = (register(ADMIT), register(RELEASE))

    async def admit(
        self, keys: tuple[str, ...], cost: int, queued: int, deadline: float | None
    ) -> Admission | None:
        """Ask for admission of ``cost`` tokens (``queued``: our number in line, 0 if none)."""
        most = -1.0 if deadline is None else max(0.0, deadline - self._clock())
        args = (cost, *self._admit_args, queued, repr(most))
        reply = await self._run(0, keys, args, deadline)
        if reply is None:
            return None
        view, verdict = View.read(reply), reply[0]
        if verdict == b"ok":
            req_mark, tok_mark, req_ahead, tok_ahead = (int(float(x)) for x in reply[1:5])
            oversize = reply[5] == b"1"
            return Admission(
                "ok", req_mark, tok_mark, req_ahead, tok_ahead, oversize=oversize, view=view
            )
        if verdict == b"big":
            return Admission("big", token_limit=float(reply[1]), view=view)
        wait, known, queued = float(reply[1]), reply[2] == b"0", int(reply[3])
        return Admission("wait", wait=wait, known=known, queued=queued, view=view)

    async def release(
        self,
        keys: tuple[str, ...],
        *,
        req_mark: int,
        tok_mark: int,
        req_ahead: int,
        tok_ahead: int,
        cost: int,
        sent: bool,
        known: bool,
        ok: bool,
        limited: bool,
        elapsed: float,
        seen_requests: tuple[int, int] | None,
        seen_tokens: tuple[int, int] | None,
        cool: float,
        oversize: bool,
        too_large: bool,
    ) -> Released | None:
        """Report one admitted request's outcome: refund, learn, slow start, cool-down.

        ``seen_*`` are the (limit, remaining) an answer's headers gave, if usable.
        """
        rpm, tpm, margin = self._caps
        args = (
            str(req_mark),  # the lease's member, as ADMIT wrote it
            cost,
            int(sent),
            int(known),
            int(ok),
            int(limited),
            repr(max(0.0, elapsed)),
            req_mark,
            tok_mark,
            *(seen_requests or (-1, -1)),
            *(seen_tokens or (-1, -1)),
            rpm,
            tpm,
            repr(margin),
            repr(cool),
            self._ttl_ms,
            req_ahead,
            tok_ahead,
            int(oversize),
            int(too_large),
            repr(self._forget_after),
        )
        reply = await self._run(1, keys, args, None)
        if reply is None:
            return None
        flags = int(reply[1])
        return Released(
            bool(flags & 1),
            bool(flags & 2),
            bool(flags & 4),
            bool(flags & 8),
            bool(flags & 16),
            View.read(reply),
        )

    async def _run(
        self, which: int, keys: tuple[str, ...], args: tuple[Any, ...], deadline: float | None
    ) -> list[Any] | None:
        """Run a script within the time budget (and the deadline); None when Redis failed."""
        budget, late = self._budget, False
        if deadline is not None and deadline - self._clock() < budget:
            budget, late = max(0.0, deadline - self._clock()), True
        try:
            async with asyncio.timeout(budget):
                reply: list[Any] = await self._scripts[which](keys=keys, args=args)
        except self._errors as exc:  # OSError includes asyncio's TimeoutError
            if late and isinstance(exc, TimeoutError):
                raise deadline_error() from None
            self._failed(exc)
            return None
        return reply

    def _failed(self, exc: BaseException) -> None:
        self.retry_at = self._clock() + self._probe_interval
        if self.healthy:
            self.healthy = False
            self._on_outage(exc)

    def probe_due(self) -> bool:
        return not self.healthy and self._clock() >= self.retry_at

    async def probe(self) -> bool:
        """Ping Redis; True (and healthy again) when it answers within the budget."""
        try:
            self.bind()
            async with asyncio.timeout(self._budget):
                await self._redis.ping()
        except self._errors:  # OSError includes asyncio's TimeoutError
            self.retry_at = self._clock() + self._probe_interval
            return False
        self.healthy = True
        return True

    def forget(self) -> None:
        """In a forked child: the parent's connection is left to the parent, untouched."""
        self._redis, self._loop, self._scripts = None, None, (None, None)

    async def aclose(self) -> None:
        redis, self._redis, self._loop = self._redis, None, None
        if redis is not None:
            await redis.aclose()
