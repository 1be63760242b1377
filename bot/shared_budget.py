"""One send budget for a bot token across processes: :class:`RedisBudget`, which every
process's :class:`~bot.rate_limiter.TelegramRateLimiter` asks before a message leaves, when
``BOOKBOT_REDIS_URL`` is set.

Each process's limiter still orders its own senders (replies, then reminders, then broadcasts)
and keeps its own window; the shared budget adds what no process can know alone, in one Redis
script run atomically on Redis's clock (so the processes' clocks do not matter):

- **the token's rate**, by the same two rules as the process's limiter: deliveries paced a slot
  every ``1 / (rate × headroom)`` seconds whoever takes it (one "theoretical arrival time"
  key), and for every message a window on the server's clock: at most ``floor(rate)``
  messages counted, each from its release until one second after its answer (a sorted set of
  tickets, scored by when they stop counting; a ticket whose answer never comes stops counting
  after :data:`REQUEST_S`), so however requests bunch on the way, no second holds more;
- **429s for everyone**: a ``retry_after`` seen by one process pauses all of them;
- **priority across processes**: a reply that finds no slot marks "a reply is waiting" for a
  moment, and no reminder or broadcast of any process takes a slot while the mark lasts (a
  reminder's mark holds back broadcasts alike);
- **per chat**: a reminder or broadcast to a chat waits one second after the chat's previous
  message from any process (three in a group: 20 a minute); a reply does not wait, but counts.

Keys live under ``bookbot:budget:<bot id>:`` (the id is the token's public part) and expire on
their own. If Redis cannot be reached, the message goes on the process's own limits (logged),
so an outage costs at worst some 429s, which are then honoured.
"""

from __future__ import annotations

import logging
import math
import os
import time
import uuid
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

#: deliveries are paced a little below the rate (as the process's limiter does)
SHARED_HEADROOM = 0.98
#: how long a waiting sender's mark holds back less urgent ones (renewed while it waits)
DEMAND_S = 0.25
#: added to a chat's interval across processes (counted from the release, not the answer)
CHAT_MARGIN_S = 0.05
#: the longest a sender sleeps before asking again
MAX_WAIT_S = 0.25
#: while the window is full of messages awaiting their answer: ask again this soon
IN_FLIGHT_WAIT_S = 0.005
#: a message released and never answered (its process died) counts this long
REQUEST_S = 30.0

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return tostring(paused - now) end
local priority = tonumber(ARGV[2])
local demand = tonumber(ARGV[4])
for level = 1, priority do
  local mark = tonumber(redis.call('GET', KEYS[2 + level]) or '0')
  if mark > now then return tostring(math.min(mark - now, demand)) end
end
local chat_next = tonumber(redis.call('GET', KEYS[5]) or '0')
if priority > 0 and chat_next > now then return tostring(chat_next - now) end
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local wait = 0
if priority > 0 and tat > now then wait = tat - now end
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now)
if wait == 0 and redis.call('ZCARD', KEYS[6]) >= tonumber(ARGV[5]) then
  local first = redis.call('ZRANGE', KEYS[6], 0, 0, 'WITHSCORES')
  wait = math.min(tonumber(first[2]) - now, tonumber(ARGV[7]))
end
if wait > 0 then
  if priority < 2 then
    redis.call('SET', KEYS[3 + priority], tostring(now + demand), 'PX', math.ceil(demand * 1000))
  end
  return tostring(wait)
end
if priority > 0 then
  redis.call('SET', KEYS[1], tostring(math.max(tat, now - interval) + interval), 'PX', 60000)
end
redis.call('ZADD', KEYS[6], now + tonumber(ARGV[8]), ARGV[6])
redis.call('PEXPIRE', KEYS[6], 60000)
local chat_interval = tonumber(ARGV[3])
redis.call('SET', KEYS[5], tostring(math.max(chat_next, now + chat_interval)),
           'PX', math.ceil(chat_interval * 1000) + 1000)
return '0'
"""

#: a message's answer arrived: it counts in the window one second more
_ANSWERED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + 1, ARGV[1])
end
return '0'
"""

_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local until_ = now + tonumber(ARGV[1])
local paused = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > paused then
  redis.call('SET', KEYS[1], tostring(until_), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
return '0'
"""

_PAUSED_FOR = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local paused = tonumber(redis.call('GET', KEYS[1]) or '0')
return tostring(math.max(0, paused - now))
"""


def from_env(token: str | None, rate: float) -> RedisBudget | None:
    """The token's budget shared by every process, in Redis when ``BOOKBOT_REDIS_URL`` is set
    (``None`` otherwise: each process keeps to its own rate)."""
    url = os.environ.get("BOOKBOT_REDIS_URL")
    if not url or not token:
        return None
    return RedisBudget.from_url(url, token, rate)


class SharedBudget(Protocol):
    """What :class:`~bot.rate_limiter.TelegramRateLimiter` asks of a shared budget."""

    async def acquire(
        self, chat: int | str, chat_interval: float, priority: int
    ) -> tuple[float, str]:
        """Take a slot for a message to ``chat`` now: ``(0.0, ticket)``; or ``(seconds, "")``:
        nothing taken, ask again after ``seconds``."""

    async def answered(self, ticket: str) -> None:
        """The message of ``ticket`` was answered (or failed): it leaves the window in a
        second."""

    async def pause(self, seconds: float) -> None:
        """A 429: every process waits ``seconds`` from now."""

    async def paused_for(self) -> float:
        """Seconds left of a pause (0.0: none)."""

    async def aclose(self) -> None:
        """Release the connection."""


class RedisBudget:
    """The shared budget in Redis, for the bot whose token starts with ``bot_id``."""

    def __init__(
        self,
        redis: Redis,
        bot_id: str,
        rate: float,
        *,
        headroom: float = SHARED_HEADROOM,
    ) -> None:
        if rate <= 0 or not 0 < headroom <= 1:
            raise ValueError("rate must be positive and headroom in (0, 1]")
        self.redis = redis
        self.interval = 1.0 / (rate * headroom)
        self.cap = max(1, math.floor(rate))
        prefix = f"bookbot:budget:{bot_id}:"
        self.prefix = prefix
        self._keys = [prefix + "tat", prefix + "paused", prefix + "reply", prefix + "reminder"]
        self._window = prefix + "window"
        self._acquire: Any = redis.register_script(_ACQUIRE)
        self._answered: Any = redis.register_script(_ANSWERED)
        self._pause: Any = redis.register_script(_PAUSE)
        self._paused_for: Any = redis.register_script(_PAUSED_FOR)
        self._warned_at = -math.inf

    @classmethod
    def from_url(cls, url: str, token: str, rate: float) -> RedisBudget:
        """For ``token`` (only its public bot id is used in key names) at ``url``."""
        return cls(Redis.from_url(url), token.split(":", 1)[0], rate)

    async def acquire(
        self, chat: int | str, chat_interval: float, priority: int
    ) -> tuple[float, str]:
        keys = [*self._keys, f"{self.prefix}chat:{chat}", self._window]
        ticket = uuid.uuid4().hex
        args = [
            self.interval,
            int(priority),  # an IntEnum would be sent by its repr
            chat_interval + CHAT_MARGIN_S,
            DEMAND_S,
            self.cap,
            ticket,
            IN_FLIGHT_WAIT_S,
            REQUEST_S,
        ]
        try:
            wait = float(await self._acquire(keys=keys, args=args))
        except RedisError as error:
            self._warn(error)
            return 0.0, ""
        if wait > 0:
            return min(wait, MAX_WAIT_S), ""
        return 0.0, ticket

    async def answered(self, ticket: str) -> None:
        if not ticket:
            return
        try:
            await self._answered(keys=[self._window], args=[ticket])
        except RedisError as error:
            self._warn(error)

    async def pause(self, seconds: float) -> None:
        try:
            await self._pause(keys=[self._keys[1]], args=[max(seconds, 0.0)])
        except RedisError as error:
            self._warn(error)

    async def paused_for(self) -> float:
        try:
            return float(await self._paused_for(keys=[self._keys[1]]))
        except RedisError as error:
            self._warn(error)
            return 0.0

    async def aclose(self) -> None:
        await self.redis.aclose()

    def _warn(self, error: RedisError) -> None:
        # once a minute at most: an outage would otherwise log every message
        if time.monotonic() - self._warned_at >= 60:
            self._warned_at = time.monotonic()
            log.warning(
                "shared send budget unreachable (%s): sending on this process's limits",
                type(error).__name__,
            )
