"""Telegram's sending limits, enforced in the sending process.

Use :meth:`RateLimiter.slot` around each request (``async with limiter.slot(chat_id): ...``):
it waits for a free slot, and the request's answer (or failure) closes it.

- Global: at most ``rate`` messages per second, by two rules together.

  * **Even pacing** at ``rate × headroom``: slots evenly spaced, so messages go out smoothly
    rather than in one burst at the start of each second, a little below the limit on
    average. Slots missed while senders were waiting (the event loop was busy with a SQLite
    transaction or a garbage collection, or the window below held them back) are made up
    afterwards, up to :data:`CATCH_UP` seconds' worth, so a short stall costs no throughput.
  * **A sliding window, on the server's clock**: at most ``cap = floor(rate)`` messages in any
    one second, where a message counts from the moment it is released until one second after
    its answer arrived. The server stamps a message somewhere between our send and its
    answer, so whatever delays a request on either side (our loop stalled, the server stalled
    by a busy neighbour, network jitter), no one-second window of the server's ever holds more
    than ``cap`` of our messages: catching up after a stall can never overshoot. Stamping at
    send time instead was measured to draw 429s at R=1,000: a 30–70 ms stall on either side
    bunches arrivals, and the next second overlaps them. With pacing ``headroom`` below the
    limit, the window rarely binds in steady state, so the round trip it adds to each message
    costs no throughput.

- Per chat: one message per second in a private chat, 20 per minute in a group (spaced 3 s),
  counted from the previous message's answer, for the same reason.
- A 429 pauses everything until ``retry_after`` has passed (:meth:`RateLimiter.pause`).

One *pacer* task releases waiting senders, oldest first, in small groups: it wakes at most every
:data:`TICK` seconds (at R=1,000 about 4 messages a wake), rather than each sender sleeping on a
timer of its own. It exists only while someone waits.

The limit is per process: with several dispatchers give each ``rate / n``. Memory is bounded by
the window (``cap`` timestamps) and the chats served in the last few seconds (older entries are
pruned).
"""

from __future__ import annotations

import asyncio
import collections
import math
import time
from collections.abc import Awaitable, Callable
from types import TracebackType

PRIVATE_CHAT_INTERVAL = 1.0
GROUP_CHAT_INTERVAL = 60.0 / 20
DEFAULT_HEADROOM = 0.98
#: the pacer's shortest sleep: messages due within it leave together
TICK = 0.004
#: at most this many seconds' worth of missed slots are made up after a stall
CATCH_UP = 0.1
#: the window Telegram counts messages in
WINDOW = 1.0


class RateLimiter:
    """Wait for a send slot with :meth:`slot` (or :meth:`acquire` then :meth:`answered`);
    report a 429 with :meth:`pause`."""

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
        if not 0 < headroom <= 1:
            raise ValueError("headroom must be in (0, 1]")
        self.rate = rate
        #: messages allowed in any one-second window (the limit itself: the window is exact)
        self.cap = max(1, math.floor(rate))
        self._interval = 1.0 / (rate * headroom)
        self._clock = clock
        self._sleep = sleep
        self._next_slot = 0.0
        self._paused_until = 0.0
        #: when the answers to the last ``cap`` messages arrived (the oldest first)
        self._answers: collections.deque[float] = collections.deque(maxlen=self.cap)
        #: released and not answered yet (they count in the window)
        self._in_flight = 0
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self._pacer: asyncio.Task[None] | None = None
        self._chat_next: dict[int, float] = {}
        self._acquired = 0
        self.pauses = 0
        #: messages released since start
        self.released = 0

    @property
    def paused_until(self) -> float:
        return self._paused_until

    @property
    def in_flight(self) -> int:
        """Messages released whose answer has not been reported yet."""
        return self._in_flight

    def pause(self, seconds: float) -> None:
        """Stop every sender until ``seconds`` from now (Telegram's ``retry_after``)."""
        until = self._clock() + max(seconds, 0.0)
        if until > self._paused_until:
            self._paused_until = until
            self.pauses += 1
        # Afterwards, start evenly again: no catching up on the slots the pause took.
        self._next_slot = max(self._next_slot, self._paused_until)

    def slot(self, chat_id: int) -> _Slot:
        """``async with limiter.slot(chat_id):`` wait for a slot, send inside the block."""
        return _Slot(self, chat_id)

    async def acquire(self, chat_id: int) -> None:
        """Wait until a message to ``chat_id`` may be sent now. Call :meth:`answered` once
        its request has ended, however it ended (:meth:`slot` does)."""
        self._acquired += 1
        if self._acquired % 1024 == 0:
            self._prune(self._clock())
        interval = GROUP_CHAT_INTERVAL if chat_id < 0 else PRIVATE_CHAT_INTERVAL
        while True:
            now = self._clock()
            ready = self._chat_next.get(chat_id, 0.0)
            if ready <= now:
                break
            # (infinite while a message to the chat awaits its answer: look again later)
            await self._sleep(min(ready - now, interval))
        # Claim the chat (checked and taken without an await in between) until the answer.
        self._chat_next[chat_id] = math.inf
        try:
            if not self._waiting and self._take(now, backlog=False):
                return  # a slot is free right now and nobody is ahead
            while True:
                await self._wait_for_release()
                # A 429 seen by another sender since we were released invalidates our slot.
                if self._clock() >= self._paused_until:
                    return
                self._in_flight -= 1
        except BaseException:
            self._chat_next.pop(chat_id, None)
            raise

    def answered(self, chat_id: int) -> None:
        """The request of a message :meth:`acquire` let through has ended."""
        now = self._clock()
        self._in_flight -= 1
        self._answers.append(now)
        interval = GROUP_CHAT_INTERVAL if chat_id < 0 else PRIVATE_CHAT_INTERVAL
        self._chat_next[chat_id] = now + interval

    async def _wait_for_release(self) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        if self._pacer is None or self._pacer.done():
            self._pacer = asyncio.create_task(self._pace())
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._in_flight -= 1  # released, but it will not send
            raise

    def next_release(self, now: float) -> float:
        """The earliest time the next message may leave (``now`` if it may leave now; a
        guess while every slot of the window is in flight)."""
        at = max(self._next_slot, self._paused_until, now)
        allowed = self.cap - self._in_flight
        if allowed <= 0:
            return max(at, now + TICK)  # an answer must come first
        if len(self._answers) >= allowed:
            # the allowed-th last answered message must have left the window first
            at = max(at, self._answers[-allowed] + WINDOW)
        return at

    def _take(self, now: float, *, backlog: bool) -> bool:
        """Use the slot free at ``now``, if there is one. With a ``backlog`` (senders were
        already waiting), slots a stall of the loop left unused are made up, at most
        CATCH_UP seconds of them; otherwise the limiter was idle and pacing restarts from now
        (a burst after idle time would only meet the previous burst's window)."""
        if self.next_release(now) > now:
            return False
        start = now - CATCH_UP if backlog else now
        self._next_slot = max(self._next_slot, start) + self._interval
        self._in_flight += 1
        self.released += 1
        return True

    async def _pace(self) -> None:
        """Release waiting senders, oldest first, as slots come; end when nobody waits."""
        waiting = self._waiting
        while waiting:
            now = self._clock()
            while waiting:
                waiter = waiting[0]
                if waiter.done():  # its sender was cancelled
                    waiting.popleft()
                    continue
                if not self._take(now, backlog=True):
                    break
                waiting.popleft()
                waiter.set_result(None)
            if waiting:
                await self._sleep(max(TICK, self.next_release(now) - now))

    def _prune(self, now: float) -> None:
        stale = [chat for chat, at in self._chat_next.items() if at <= now]
        for chat in stale:
            del self._chat_next[chat]


class _Slot:
    """The context manager of :meth:`RateLimiter.slot`."""

    __slots__ = ("_chat_id", "_limiter")

    def __init__(self, limiter: RateLimiter, chat_id: int) -> None:
        self._limiter = limiter
        self._chat_id = chat_id

    async def __aenter__(self) -> None:
        await self._limiter.acquire(self._chat_id)

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._limiter.answered(self._chat_id)
