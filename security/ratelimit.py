"""Per-principal rate limiting: a token bucket in Redis, shared by every API replica.

The bucket lives in one Redis hash updated atomically by a Lua script, so replicas agree on
the remaining budget without coordination.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis

# KEYS[1]=bucket; ARGV: capacity, refill per second, now (s), cost. Returns {allowed, wait_ms}.
TOKEN_BUCKET = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local allowed = 0
local wait_ms = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait_ms = math.ceil((cost - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return {allowed, wait_ms}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: float


class RateLimiter:
    def __init__(self, redis: Redis, capacity: int, refill_per_s: float) -> None:
        self.redis = redis
        self.capacity = capacity
        self.refill_per_s = refill_per_s
        self._script = redis.register_script(TOKEN_BUCKET)

    async def take(self, principal: str, cost: int = 1) -> Decision:
        allowed, wait_ms = await self._script(
            keys=[f"datawave:ratelimit:{principal}"],
            args=[self.capacity, self.refill_per_s, time.time(), cost],
        )
        return Decision(bool(allowed), wait_ms / 1000)
