"""Telegram's sending limits for one bot token: :class:`TelegramRateLimiter`, the one
python-telegram-bot :class:`~telegram.ext.BaseRateLimiter` through which the Application's
replies and the delivery dispatcher's reminders and broadcasts all go, so they share one budget.

Every request that names a ``chat_id`` (sending, editing, deleting a message) takes a slot;
others (``answerCallbackQuery``, ``setMyCommands``...) only wait out a 429's pause, and
``getUpdates`` never comes here (python-telegram-bot sends it around any rate limiter).

- **Priority** (``rate_limit_args``, a :class:`Priority`): when several requests wait for a slot,
  replies to users go first, then reminders and notices, then broadcasts. A Bot method called
  without ``rate_limit_args`` is a reply.
- **Global**: at most ``rate`` messages per second, by two rules together.

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
    than ``cap`` of our messages: catching up after a stall can never overshoot. With pacing
    ``headroom`` below the limit, the window rarely binds in steady state.

- **Per chat**: a reminder or broadcast waits until one second has passed in a private chat,
  three (20 a minute) in a group, since the answer to the chat's previous message. A reply does
  not wait for that (the user just acted: a tap's edit must not lag a second behind the
  previous one), but it counts, so a delivery to the same chat waits after it.
- **429**: a ``RetryAfter`` from any request pauses every request until ``retry_after`` has
  passed. A reply is then sent again (up to ``max_retries`` times); a delivery's ``RetryAfter``
  is raised to the dispatcher, which retries it itself and counts it.

One *pacer* task releases waiting senders, most urgent first, in small groups: it wakes at most
every :data:`TICK` seconds (at R=1,000 about 4 messages a wake), rather than each sender sleeping
on a timer of its own. It exists only while someone waits.

- **Across processes** (``shared``, a :class:`~bot.shared_budget.SharedBudget`, Redis): every
  message also takes a slot of the token's one shared budget, after its local slot; 429s pause
  every process, a waiting reply holds back every process's deliveries, and the per-chat
  intervals hold across processes (:mod:`bot.shared_budget`). Without it the budget is this
  process's: several processes sending for one token must share the rate between them
  (``rate / n`` each).

Memory is bounded by the window (``cap`` timestamps) and the chats served in the last few
seconds (older entries are pruned).
"""

from __future__ import annotations

import asyncio
import collections
import heapq
import itertools
import logging
import math
import time
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

if TYPE_CHECKING:
    from bot.shared_budget import SharedBudget

log = logging.getLogger(__name__)

#: Telegram's limit for one token: about 30 messages a second
TELEGRAM_RATE = 30.0
PRIVATE_CHAT_INTERVAL = 1.0
GROUP_CHAT_INTERVAL = 60.0 / 20
DEFAULT_HEADROOM = 0.98
#: the pacer's shortest sleep: messages due within it leave together
TICK = 0.004
#: at most this many seconds' worth of missed slots are made up after a stall
CATCH_UP = 0.1
#: the window Telegram counts messages in
WINDOW = 1.0

Result = bool | dict[str, Any] | list[dict[str, Any]]


class Priority(IntEnum):
    """``rate_limit_args`` of a Bot method: who goes first when requests wait (lowest first)."""

    #: a reply to what a user just did (the default: no ``rate_limit_args``)
    REPLY = 0
    #: a reminder or a notice about the user's own booking
    REMINDER = 1
    #: a broadcast, and its progress messages to the admin
    BROADCAST = 2


def retry_after_seconds(exc: RetryAfter) -> float:
    """How long Telegram asked to wait, in seconds."""
    with warnings.catch_warnings():
        # PTB 22 warns that the attribute becomes a timedelta; both forms are handled.
        warnings.simplefilter("ignore")
        value: object = exc.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)  # type: ignore[arg-type]


def _chat_key(chat_id: object) -> int | str | None:
    """The chat a request goes to (``None``: not a message), ids given as text included."""
    if chat_id is None or isinstance(chat_id, int):
        return chat_id
    try:
        return int(str(chat_id))
    except ValueError:
        return str(chat_id)  # "@channel"


def _chat_interval(chat: int | str) -> float:
    # negative ids and @usernames are groups, supergroups and channels
    return PRIVATE_CHAT_INTERVAL if isinstance(chat, int) and chat > 0 else GROUP_CHAT_INTERVAL


class TelegramRateLimiter(BaseRateLimiter[Priority]):
    """Give it to ``ApplicationBuilder().rate_limiter(...)`` (or an ``ExtBot``); every Bot
    method then goes through :meth:`process_request`. One instance per bot token."""

    def __init__(
        self,
        rate: float = TELEGRAM_RATE,
        *,
        headroom: float = DEFAULT_HEADROOM,
        max_retries: int = 3,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        shared: SharedBudget | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if not 0 < headroom <= 1:
            raise ValueError("headroom must be in (0, 1]")
        self.rate = rate
        #: messages allowed in any one-second window (the limit itself: the window is exact)
        self.cap = max(1, math.floor(rate))
        #: how often a reply is sent again after a 429
        self.max_retries = max_retries
        self._interval = 1.0 / (rate * headroom)
        self._clock = clock
        self._sleep = sleep
        self.shared = shared
        self._next_slot = 0.0
        self._paused_until = 0.0
        #: when the answers to the last ``cap`` messages arrived (the oldest first)
        self._answers: collections.deque[float] = collections.deque(maxlen=self.cap)
        #: released and not answered yet (they count in the window)
        self._in_flight = 0
        #: senders waiting for a slot: (priority, arrival, future), a heap
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()
        self._pacer: asyncio.Task[None] | None = None
        self._chat_next: dict[int | str, float] = {}
        self._acquired = 0
        self.pauses = 0
        #: messages released since start
        self.released = 0

    # -- BaseRateLimiter ------------------------------------------------------------------------
    async def initialize(self) -> None:
        """Nothing to set up: the pacer starts when someone waits."""

    async def shutdown(self) -> None:
        """Close the shared budget's connection (the pacer ends when nobody waits)."""
        if self.shared is not None:
            await self.shared.aclose()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Priority | None,
    ) -> Result:
        """Send one request (``callback``) when the limits allow it (see the module)."""
        priority = Priority.REPLY if rate_limit_args is None else rate_limit_args
        chat = _chat_key(data.get("chat_id"))
        retries = self.max_retries if priority is Priority.REPLY else 0
        for attempt in itertools.count():
            if chat is None:
                await self._pause_over()
            else:
                await self._acquire(chat, priority)
            ticket = ""
            try:
                if chat is not None and self.shared is not None:
                    ticket = await self._acquire_shared(chat, priority)
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self.pause(retry_after_seconds(exc))
                if self.shared is not None:
                    await self.shared.pause(retry_after_seconds(exc))
                if attempt >= retries:
                    raise
                log.info("%s hit Telegram's limit; sent again after the pause", endpoint)
            finally:
                if chat is not None:
                    self._answered(chat, priority)
                if ticket and self.shared is not None:
                    await self.shared.answered(ticket)
        raise AssertionError("unreachable")  # itertools.count() never ends

    # -- state ----------------------------------------------------------------------------------
    @property
    def paused_until(self) -> float:
        return self._paused_until

    @property
    def in_flight(self) -> int:
        """Messages released whose answer has not come back yet."""
        return self._in_flight

    def pause(self, seconds: float) -> None:
        """Stop every sender until ``seconds`` from now (Telegram's ``retry_after``)."""
        until = self._clock() + max(seconds, 0.0)
        if until > self._paused_until:
            self._paused_until = until
            self.pauses += 1
        # Afterwards, start evenly again: no catching up on the slots the pause took.
        self._next_slot = max(self._next_slot, self._paused_until)

    async def _pause_over(self) -> None:
        while (left := self._paused_until - self._clock()) > 0:
            await self._sleep(left)
        if self.shared is not None:
            while (left := await self.shared.paused_for()) > 0:
                await self._sleep(left)

    async def _acquire_shared(self, chat: int | str, priority: Priority) -> str:
        """Wait for a slot of the token's shared budget (after this process's own slot: the
        message counts as in flight here meanwhile); its ticket, for the answer."""
        assert self.shared is not None
        while True:
            wait, ticket = await self.shared.acquire(chat, _chat_interval(chat), priority)
            if wait <= 0:
                return ticket
            await self._sleep(wait)

    # -- slots ----------------------------------------------------------------------------------
    async def _acquire(self, chat: int | str, priority: Priority) -> None:
        """Wait until a message to ``chat`` may be sent now. :meth:`_answered` must follow
        once its request has ended, however it ended."""
        self._acquired += 1
        if self._acquired % 1024 == 0:
            self._prune(self._clock())
        interval = _chat_interval(chat)
        while priority is not Priority.REPLY:
            now = self._clock()
            ready = self._chat_next.get(chat, 0.0)
            if ready <= now:
                # Claim the chat (checked and taken without an await in between) until the
                # answer.
                self._chat_next[chat] = math.inf
                break
            # (infinite while a message to the chat awaits its answer: look again later)
            await self._sleep(min(ready - now, interval))
        try:
            if (priority is Priority.REPLY or not self._waiting) and self._take(
                self._clock(), priority, backlog=False
            ):
                return  # a slot is free right now and nobody is ahead (a reply goes first)
            while True:
                await self._wait_for_release(priority)
                # A 429 seen by another sender since we were released invalidates our slot.
                if self._clock() >= self._paused_until:
                    return
                self._in_flight -= 1
        except BaseException:
            if priority is not Priority.REPLY:
                self._chat_next.pop(chat, None)
            raise

    def _answered(self, chat: int | str, priority: Priority) -> None:
        """The request of a message :meth:`_acquire` let through has ended."""
        now = self._clock()
        self._in_flight -= 1
        self._answers.append(now)
        ready = now + _chat_interval(chat)
        if priority is Priority.REPLY:
            # a delivery to the chat in flight keeps its claim (infinity) until its answer
            ready = max(ready, self._chat_next.get(chat, 0.0))
        self._chat_next[chat] = ready

    async def _wait_for_release(self, priority: Priority) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._arrivals), waiter))
        if self._pacer is None or self._pacer.done():
            self._pacer = asyncio.create_task(self._pace())
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._in_flight -= 1  # released, but it will not send
            raise

    def next_release(self, now: float, priority: Priority = Priority.BROADCAST) -> float:
        """The earliest time the next message at ``priority`` may leave (``now`` if it may
        leave now; a guess while every slot of the window is in flight)."""
        at = max(self._paused_until, now)
        if priority is not Priority.REPLY:
            at = max(at, self._next_slot)  # deliveries keep to the pace
        allowed = self.cap - self._in_flight
        if allowed <= 0:
            return max(at, now + TICK)  # an answer must come first
        if len(self._answers) >= allowed:
            # the allowed-th last answered message must have left the window first
            at = max(at, self._answers[-allowed] + WINDOW)
        return at

    def _take(self, now: float, priority: Priority, *, backlog: bool) -> bool:
        """Use the slot free at ``now`` for a message at ``priority``, if there is one.
        A reply leaves as soon as the window has room (the pace is for deliveries: a reply
        waits for the next answer to leave the window at most, not for the next paced slot).
        For a delivery, with a ``backlog`` (senders were
        already waiting), slots a stall of the loop left unused are made up, at most CATCH_UP
        seconds of them; otherwise the limiter was idle and pacing restarts from now (a burst
        after idle time would only meet the previous burst's window)."""
        if self.next_release(now, priority) > now:
            return False
        if priority is not Priority.REPLY:
            start = now - CATCH_UP if backlog else now
            self._next_slot = max(self._next_slot, start) + self._interval
        self._in_flight += 1
        self.released += 1
        return True

    async def _pace(self) -> None:
        """Release waiting senders, most urgent first, as slots come; end when nobody waits."""
        waiting = self._waiting
        while waiting:
            now = self._clock()
            while waiting:
                priority, _, waiter = waiting[0]
                if waiter.done():  # its sender was cancelled
                    heapq.heappop(waiting)
                    continue
                if not self._take(now, Priority(priority), backlog=True):
                    break
                heapq.heappop(waiting)
                waiter.set_result(None)
            if waiting:
                wake = self.next_release(now, Priority(waiting[0][0]))
                await self._sleep(max(TICK, wake - now))

    def _prune(self, now: float) -> None:
        stale = [chat for chat, at in self._chat_next.items() if at <= now]
        for chat in stale:
            del self._chat_next[chat]
