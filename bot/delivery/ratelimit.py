"""Telegram's sending limits, enforced in the sending process.

- Global: at most ``rate`` messages per second, spaced evenly (no bursts: a sliding-window
  limit on Telegram's side would punish a burst with a 429, which costs a whole second).
  ``headroom`` keeps the actual rate a little below the limit so that jitter between our send
  times and the server's arrival times never pushes a one-second window over it.
- Per chat: one message per second in a private chat, 20 per minute in a group (spaced 3 s).
- A 429 pauses everything until ``retry_after`` has passed (:meth:`RateLimiter.pause`).

Slots are reserved before sleeping, so many concurrent senders share the rate fairly and keep
the pipe full. The limit is per process: with several dispatchers give each ``rate / n``.
Memory is bounded by the chats served in the last few seconds (older entries are pruned).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

PRIVATE_CHAT_INTERVAL = 1.0
GROUP_CHAT_INTERVAL = 60.0 / 20
DEFAULT_HEADROOM = 0.98


class RateLimiter:
    """Reserve a send slot with :meth:`acquire`; report a 429 with :meth:`pause`."""

    def __init__(
        self,
        rate: float,
        *,
        headroom: float = DEFAULT_HEADROOM,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._interval = 1.0 / (rate * headroom)
        self._clock = clock
        self._sleep = sleep
        self._next_global = 0.0
        self._paused_until = 0.0
        self._chat_next: dict[int, float] = {}
        self._acquired = 0
        self.pauses = 0

    @property
    def paused_until(self) -> float:
        return self._paused_until

    def pause(self, seconds: float) -> None:
        """Stop every sender until ``seconds`` from now (Telegram's ``retry_after``)."""
        until = self._clock() + max(seconds, 0.0)
        if until > self._paused_until:
            self._paused_until = until
            self.pauses += 1
        self._next_global = max(self._next_global, self._paused_until)

    async def acquire(self, chat_id: int) -> None:
        """Wait until a message to ``chat_id`` may be sent now."""
        self._acquired += 1
        if self._acquired % 1024 == 0:
            self._prune(self._clock())
        interval = GROUP_CHAT_INTERVAL if chat_id < 0 else PRIVATE_CHAT_INTERVAL
        while True:
            now = self._clock()
            ready = self._chat_next.get(chat_id, 0.0)
            if ready <= now:
                break
            await self._sleep(ready - now)
        # Provisional claim on the chat (checked and taken without an await in between)...
        self._chat_next[chat_id] = now + interval
        while True:
            now = self._clock()
            slot = max(self._next_global, now, self._paused_until)
            self._next_global = slot + self._interval
            if slot > now:
                await self._sleep(slot - now)
            # A 429 seen by another sender while we slept invalidates our slot.
            if self._clock() >= self._paused_until:
                break
        # ...made final from the moment the message actually leaves.
        self._chat_next[chat_id] = max(self._chat_next[chat_id], self._clock() + interval)

    def _prune(self, now: float) -> None:
        stale = [chat for chat, at in self._chat_next.items() if at <= now]
        for chat in stale:
            del self._chat_next[chat]
