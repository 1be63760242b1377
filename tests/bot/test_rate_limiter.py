"""The rate limiter in virtual time, through python-telegram-bot's ``process_request``: paced,
never more than ``cap`` messages in any one-second window of the server's (which stamps each
message somewhere between its send and its answer), stalls made up, 429 pauses honoured,
per-chat spacing from the answer, replies first and never held back by the chat's spacing."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot import rate_limiter as ratelimit
from bot.rate_limiter import CATCH_UP, Priority, TelegramRateLimiter


class VirtualTime:
    """A clock and a sleep for the limiter; time moves only when every task is idle."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(seconds, 0.0), next(self._seq), future))
        await future

    @staticmethod
    async def settle() -> None:
        for _ in range(30):
            await asyncio.sleep(0)

    async def run(self, until: float) -> None:
        """Wake sleepers in time order until ``until`` (or until nobody sleeps)."""
        await self.settle()
        while self._sleepers and self._sleepers[0][0] <= until:
            at, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, at)
            if not future.done():
                future.set_result(None)
            await self.settle()
        self.now = max(self.now, until)

    def stall(self, seconds: float) -> None:
        """The event loop was blocked: time passed and nothing ran."""
        self.now += seconds


@dataclass(repr=False)
class Sim:
    """Senders sharing one limiter against a server with a round trip of ``rtt`` seconds."""

    limiter: TelegramRateLimiter
    time: VirtualTime
    rtt: tuple[float, float] = (0.001, 0.05)
    seed: int = 1
    #: (chat, sent at, answered at, server's stamp)
    log: list[tuple[int, float, float, float]] = field(default_factory=list)

    async def send(self, chat_id: int) -> None:
        rng = random.Random(self.seed * 1_000_003 + len(self.log) + chat_id)

        async def request() -> tuple[float, float]:
            sent = self.time.now
            await self.time.sleep(rng.uniform(*self.rtt))
            return sent, self.time.now

        sent, answered = await through(self.limiter, chat_id, request)
        self.log.append((chat_id, sent, answered, rng.uniform(sent, answered)))

    def sent_times(self) -> list[float]:
        return sorted(sent for _, sent, _, _ in self.log)

    def server_times(self) -> list[float]:
        return sorted(stamp for _, _, _, stamp in self.log)


async def through(
    limiter: TelegramRateLimiter,
    chat_id: int | None,
    request: Callable[[], Awaitable[Any]],
    priority: Priority | None = Priority.BROADCAST,
    endpoint: str = "sendMessage",
) -> Any:
    """``request()`` through the limiter, as ``ExtBot`` sends a Bot method's request."""
    data = {} if chat_id is None else {"chat_id": chat_id}
    return await limiter.process_request(request, (), {}, endpoint, data, priority)


def max_in_window(times: list[float], width: float) -> int:
    """The most stamps in any half-open window ``(t - width, t]``."""
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - width:
            start += 1
        best = max(best, end - start + 1)
    return best


async def senders(sim: Sim, chats: list[int], workers: int) -> asyncio.Task[None]:
    queue = list(reversed(chats))

    async def worker() -> None:
        while queue:
            await sim.send(queue.pop())

    async def run() -> None:
        await asyncio.gather(*(worker() for _ in range(workers)))

    return asyncio.create_task(run())


def make(rate: float, **sim: object) -> Sim:
    time = VirtualTime()
    limiter = TelegramRateLimiter(rate, clock=time.clock, sleep=time.sleep)
    return Sim(limiter, time, **sim)  # type: ignore[arg-type]


async def test_paced_evenly_and_never_more_than_cap_in_any_server_window() -> None:
    sim = make(100)  # paced at 98/s
    task = await senders(sim, list(range(1, 601)), workers=40)
    await sim.time.run(until=30)
    assert task.done() and len(sim.log) == 600
    assert sim.limiter.cap == 100
    assert max_in_window(sim.server_times(), 1.0) <= 100
    # even: no burst at the start of each second (about 10 per 0.1 s at 98/s, plus at most
    # CATCH_UP's worth of slots the window held back and that are made up)
    assert max_in_window(sim.sent_times(), 0.1) <= 10 + CATCH_UP * 98 + 1
    # and as fast as the pace (the window does not hold it back)
    duration = sim.sent_times()[-1] - sim.sent_times()[0]
    assert 599 / 98 <= duration <= 599 / 98 * 1.01
    assert sim.limiter.in_flight == 0


async def test_slow_answers_hold_their_place_in_the_window() -> None:
    # Answers that take up to 0.8 s: stamping at send time would let the server see the next
    # second's messages while these still count; counting from the answer never does.
    sim = make(50, rtt=(0.0, 0.8))
    task = await senders(sim, list(range(1, 301)), workers=60)
    await sim.time.run(until=60)
    assert task.done()
    assert max_in_window(sim.server_times(), 1.0) <= sim.limiter.cap


async def run_with_stalls(sim: Sim, stalls: list[float]) -> None:
    """Send for 5 s; the loop is blocked for 80 ms at each time in ``stalls``."""
    await senders(sim, list(range(1, 5001)), workers=50)
    for at in stalls:
        await sim.time.run(until=at)
        sim.time.stall(0.08)
    await sim.time.run(until=5.0)


async def test_a_stall_is_made_up_within_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    steady, stalled, not_made_up = make(200), make(200), make(200)
    await run_with_stalls(steady, [])
    # the loop blocked for 80 ms twice (a big SQLite transaction, say): 2 x 16 slots missed
    await run_with_stalls(stalled, [1.5, 3.0])
    monkeypatch.setattr(ratelimit, "CATCH_UP", 0.0)
    await run_with_stalls(not_made_up, [1.5, 3.0])
    assert 0.08 < CATCH_UP
    assert max_in_window(stalled.server_times(), 1.0) <= stalled.limiter.cap
    sent = {name: len(sim.log) for name, sim in (("steady", steady), ("stalled", stalled))}
    sent["not made up"] = len(not_made_up.log)
    # Most missed slots were made up. Not all: the answers that were due during a stall are
    # only seen after it, and they hold their place in the window for that much longer.
    assert sent["stalled"] >= sent["steady"] - 16, sent
    assert sent["stalled"] >= sent["not made up"] + 12, sent
    # made up at once after each stall, not spread further
    assert max_in_window(stalled.sent_times(), 0.004) >= 8


async def test_after_idle_time_pacing_restarts_without_a_burst() -> None:
    sim = make(10)
    await senders(sim, [1], workers=1)
    await sim.time.run(until=60.0)  # idle for a minute after one message
    task = await senders(sim, list(range(2, 22)), workers=20)
    await sim.time.run(until=70.0)
    assert task.done()
    later = [t for t in sim.sent_times() if t >= 60.0]
    assert max_in_window(later, 0.3) <= 4  # about one per 0.102 s


async def test_pause_stops_every_sender_until_retry_after() -> None:
    sim = make(100)
    task = await senders(sim, list(range(1, 301)), workers=20)
    await sim.time.run(until=1.0)
    sim.limiter.pause(2.0)
    paused_at = sim.time.now
    await sim.time.run(until=10.0)
    assert task.done() and len(sim.log) == 300
    during = [t for t in sim.sent_times() if paused_at < t < paused_at + 2.0]
    assert during == []
    # then evenly again, not a burst of the slots the pause took
    after = [t for t in sim.sent_times() if t >= paused_at + 2.0]
    assert max_in_window(after, 0.1) <= 10 + CATCH_UP * 98 + 1
    assert max_in_window(after, 0.004) <= 2


async def test_a_released_sender_waits_for_a_pause_that_came_before_it_ran() -> None:
    time = VirtualTime()
    limiter = TelegramRateLimiter(1, clock=time.clock, sleep=time.sleep)
    sent: list[float] = []

    async def send(chat: int) -> None:
        async def request() -> None:
            sent.append(time.now)

        await through(limiter, chat, request)

    await send(1)
    second = asyncio.create_task(send(2))
    await time.settle()  # waiting for the next slot, 1.02 s later
    at, _, pacer_sleep = heapq.heappop(time._sleepers)
    time.now = at
    pacer_sleep.set_result(None)
    await asyncio.sleep(0)  # the pacer runs and releases the sender...
    assert limiter.in_flight == 1 and not second.done()
    limiter.pause(5.0)  # ...but a 429 arrives before the sender runs
    await time.run(until=20.0)
    assert second.done()
    assert sent[1] >= at + 5.0
    assert limiter.in_flight == 0


async def test_per_chat_spacing_counts_from_the_answer() -> None:
    sim = make(1000, rtt=(0.3, 0.3))
    task = await senders(sim, [7, 7, -7, -7], workers=4)
    await sim.time.run(until=20.0)
    assert task.done()
    private = sorted((s, a) for chat, s, a, _ in sim.log if chat == 7)
    group = sorted((s, a) for chat, s, a, _ in sim.log if chat == -7)
    assert private[1][0] >= private[0][1] + 1.0
    assert group[1][0] >= group[0][1] + 3.0
    # different chats do not wait for each other
    assert abs(private[0][0] - group[0][0]) < 0.01


async def test_a_cancelled_waiter_gives_its_place_to_the_next() -> None:
    time = VirtualTime()
    limiter = TelegramRateLimiter(10, clock=time.clock, sleep=time.sleep)
    sent: list[int] = []

    async def send(chat: int) -> None:
        async def request() -> None:
            sent.append(chat)

        await through(limiter, chat, request)

    tasks = [asyncio.create_task(send(chat)) for chat in range(1, 6)]
    await time.settle()
    tasks[1].cancel()
    await time.run(until=5.0)
    assert sent == [1, 3, 4, 5]
    assert limiter.in_flight == 0
    with pytest.raises(asyncio.CancelledError):
        await tasks[1]
    # its chat is free again
    await send(2)
    assert sent[-1] == 2


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        TelegramRateLimiter(0)
    with pytest.raises(ValueError):
        TelegramRateLimiter(10, headroom=1.5)
    assert TelegramRateLimiter(0.5).cap == 1


async def test_replies_go_before_reminders_and_reminders_before_broadcasts() -> None:
    time = VirtualTime()
    limiter = TelegramRateLimiter(10, clock=time.clock, sleep=time.sleep)
    order: list[str] = []

    async def send(name: str, chat: int, priority: Priority | None) -> None:
        async def request() -> None:
            order.append(name)

        await through(limiter, chat, request, priority)

    await send("first", 1, Priority.BROADCAST)  # takes the slot that was free
    waiting = [
        ("broadcast", Priority.BROADCAST),
        ("reminder", Priority.REMINDER),
        ("reply", None),  # a Bot method called without rate_limit_args
        ("broadcast", Priority.BROADCAST),
        ("reminder", Priority.REMINDER),
        ("reply", Priority.REPLY),
    ]
    tasks = [
        asyncio.create_task(send(name, 100 + i, priority))
        for i, (name, priority) in enumerate(waiting)
    ]
    await time.run(until=5.0)
    assert all(task.done() for task in tasks)
    assert order == ["first", "reply", "reply", "reminder", "reminder", "broadcast", "broadcast"]


async def test_a_429_pauses_everyone_and_only_a_reply_is_sent_again() -> None:
    time = VirtualTime()
    limiter = TelegramRateLimiter(100, clock=time.clock, sleep=time.sleep)
    attempts: list[tuple[str, float]] = []
    refuse = {"reply": 1, "broadcast": 1}

    def request_for(name: str) -> Callable[[], Awaitable[str]]:
        async def request() -> str:
            attempts.append((name, time.now))
            if refuse.get(name, 0):
                refuse[name] -= 1
                raise RetryAfter(timedelta(seconds=2))
            return name

        return request

    # a reply refused once: sent again once the pause is over, and answered
    reply = asyncio.create_task(through(limiter, 1, request_for("reply"), None))
    await time.run(until=10.0)
    assert reply.result() == "reply"
    assert [at for name, at in attempts if name == "reply"] == [0.0, 2.0]
    # a broadcast refused: raised to its sender (the dispatcher retries and counts it) ...
    with pytest.raises(RetryAfter):
        await through(limiter, 2, request_for("broadcast"))
    refused_at = time.now
    # ... and everyone waits out that pause, a callback answer (no chat) included
    others = [
        asyncio.create_task(through(limiter, 3, request_for("reminder"), Priority.REMINDER)),
        asyncio.create_task(
            through(limiter, None, request_for("answer"), None, endpoint="answerCallbackQuery")
        ),
    ]
    await time.run(until=20.0)
    assert [task.result() for task in others] == ["reminder", "answer"]
    assert all(at >= refused_at + 2.0 for name, at in attempts if name in ("reminder", "answer"))
    assert limiter.in_flight == 0


async def test_a_tap_is_answered_and_its_menu_edited_without_waiting_for_the_chat() -> None:
    time = VirtualTime()
    limiter = TelegramRateLimiter(30, clock=time.clock, sleep=time.sleep)
    sent: list[tuple[str, float]] = []
    answered: dict[str, float] = {}

    def request_for(name: str) -> Callable[[], Awaitable[None]]:
        async def request() -> None:
            sent.append((name, time.now))
            await time.sleep(0.05)  # the round trip
            answered[name] = time.now

        return request

    async def run(*sends: Awaitable[None]) -> None:
        tasks = [asyncio.create_task(s) for s in sends]  # type: ignore[arg-type]
        while not all(task.done() for task in tasks):
            await time.run(until=time.now + 0.01)  # no further than the sends take
        for task in tasks:
            task.result()

    await run(through(limiter, 7, request_for("reminder"), Priority.REMINDER))
    # the user taps the reminder's button right away: the answer to the tap (no chat) and the
    # edit of the tapped message go at once, not a second after the reminder
    tapped_at = time.now
    assert tapped_at < answered["reminder"] + 0.1
    await run(
        through(limiter, None, request_for("answer"), None, endpoint="answerCallbackQuery"),
        through(limiter, 7, request_for("edit"), None, endpoint="editMessageText"),
    )
    assert [name for name, _ in sent] == ["reminder", "answer", "edit"]
    assert all(at - tapped_at < 0.01 for _, at in sent[1:])
    # the reply counts for the chat: a broadcast to it waits a second after the edit's answer
    await run(through(limiter, 7, request_for("broadcast")))
    assert sent[-1][0] == "broadcast" and sent[-1][1] >= answered["edit"] + 1.0


async def test_a_reply_does_not_wait_for_the_next_paced_slot() -> None:
    time = VirtualTime()
    limiter = TelegramRateLimiter(10, clock=time.clock, sleep=time.sleep)  # a slot per 0.102 s
    sent: dict[str, float] = {}

    def request_for(name: str) -> Callable[[], Awaitable[None]]:
        async def request() -> None:
            sent[name] = time.now

        return request

    first = asyncio.create_task(through(limiter, 1, request_for("broadcast 1")))
    await time.run(until=0.02)
    waiting = asyncio.create_task(through(limiter, 2, request_for("broadcast 2")))
    reply = asyncio.create_task(through(limiter, 3, request_for("reply"), None))
    await time.run(until=1.0)
    assert first.done() and waiting.done() and reply.done()
    # the window has room: the reply goes now, the broadcast keeps to the pace
    assert sent["reply"] == pytest.approx(0.02)
    assert sent["broadcast 2"] >= sent["broadcast 1"] + 0.1
