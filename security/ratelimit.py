"""Per-principal rate limiting: a token bucket in Redis, shared by every API replica.

The bucket lives in one Redis hash updated atomically by a Lua script, so replicas agree on
the remaining budget without coordination. A round trip to Redis per request was a tenth of a
cold read's CPU (docs/benchmarks.md, issue 17), so a replica takes a few tokens at a time from
a large bucket (a fiftieth of its capacity, at most ``MAX_LEASE``) and spends them locally
for up to ``LEASE_S``; what it has not spent by then goes back to the bucket with its next
call. Nothing is ever allowed beyond the bucket: a replica only spends tokens Redis gave it.
The price is precision across replicas: tokens one replica holds are not available to another
for up to ``LEASE_S``, so a principal at the very end of its budget may be refused by one
replica while another still holds a few tokens of it. A bucket of fewer than 100 tokens is
taken from one token at a time, exactly as before.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis

# KEYS[1]=bucket; ARGV: capacity, refill per second, now (s), cost, tokens wanted (>= cost),
# tokens given back. Returns {tokens granted (0: refused), wait_ms}.
TOKEN_BUCKET = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local want = tonumber(ARGV[5])
local refund = tonumber(ARGV[6])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate + refund)
local granted = 0
local wait_ms = 0
if tokens >= cost then
  granted = math.max(cost, math.min(want, math.floor(tokens)))
  tokens = tokens - granted
else
  wait_ms = math.ceil((cost - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return {granted, wait_ms}
"""

LEASE_SHARE = 50  # a lease is at most this fraction of the bucket's capacity ...
MAX_LEASE = 100  # ... and at most this many tokens
LEASE_S = 1.0  # tokens a replica holds go back to the bucket after this long
MAX_HELD = 10_000  # principals with tokens held; beyond, expired leases are forgotten


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: float


@dataclass
class _Lease:
    tokens: int
    until: float  # time.monotonic()


class RateLimiter:
    def __init__(self, redis: Redis, capacity: int, refill_per_s: float) -> None:
        self.redis = redis
        self.capacity = capacity
        self.refill_per_s = refill_per_s
        self.lease = max(1, min(MAX_LEASE, capacity // LEASE_SHARE))
        self._script = redis.register_script(TOKEN_BUCKET)
        self._held: dict[str, _Lease] = {}
        self._purged_at = 0.0

    async def take(self, principal: str, cost: int = 1) -> Decision:
        now = time.monotonic()
        held = self._held.get(principal)
        if held is not None and held.until > now and held.tokens >= cost:
            held.tokens -= cost
            return Decision(True, 0.0)
        refund = self._held.pop(principal).tokens if held is not None else 0
        granted, wait_ms = await self._script(
            keys=[f"datawave:ratelimit:{principal}"],
            args=[self.capacity, self.refill_per_s, time.time(), cost, self._want(cost, now),
                  refund],
        )  # fmt: skip
        if not granted:
            return Decision(False, wait_ms / 1000)
        if granted > cost:
            self._hold(principal, granted - cost, now)
        return Decision(True, 0.0)

    def _want(self, cost: int, now: float) -> int:
        """Tokens to ask for: a lease, unless too many principals hold one (a flood of
        addresses failing to authenticate); expired leases are forgotten once a lease time."""
        if len(self._held) >= MAX_HELD and now - self._purged_at >= LEASE_S:
            self._held = {p: h for p, h in self._held.items() if h.until > now}
            self._purged_at = now
        return max(cost, self.lease) if len(self._held) < MAX_HELD else cost

    def _hold(self, principal: str, tokens: int, now: float) -> None:
        """Keep ``tokens`` to spend locally (added to a lease another call took meanwhile)."""
        held = self._held.get(principal)
        if held is not None and held.until > now:
            held.tokens += tokens
        else:
            self._held[principal] = _Lease(tokens, now + LEASE_S)
