"""The dispatcher: claims due outbox rows, renders them, sends them within Telegram's limits and
writes each outcome back.

Tasks of one :class:`Dispatcher` (all in one event loop):

- the *claimer* keeps a local priority queue about half a second deep (reminders and notices
  first), claiming rows with a lease and rendering them;
- *senders* (``concurrency`` of them) take messages from the queue and send them with
  ``Bot.send_message``; the bot's :class:`~bot.rate_limiter.TelegramRateLimiter` (the one its
  replies go through too) lets each go when the token's budget allows, reminders before
  broadcasts and replies to users before both;
- the *writer* commits outcomes in small batches (every 0.1 s or 100 results);
- the *lease keeper* extends the lease of every row still held locally, so a long 429 pause
  never lets another dispatcher take a row this one is about to send;
- the *progress* task edits each running broadcast's progress message and, once nothing is
  left open, marks it done and queues the final report.

Error handling per row: ``RetryAfter`` (which has paused every request of the bot for
``retry_after``) retries the same message (never dropped); ``Forbidden`` marks the chat
blocked; ``BadRequest`` records the error and gives up on that row; network errors retry later
with exponential backoff (up to ``max_attempts`` claims, then the row ends ``failed`` with the
error).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.bot_api_request import redact
from bot.delivery import broadcasts
from bot.delivery.outbox import Result, claim_due, mark_blocked, record_results, renew_leases
from bot.delivery.render import Outgoing, render
from bot.rate_limiter import Priority, TelegramRateLimiter
from providers.base import utc_now
from storage.delivery_models import PRIORITY_BROADCAST, Broadcast

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(seconds=120)
MAX_BACKOFF = timedelta(minutes=15)


@dataclass
class DispatchStats:
    """Counters since start (for logs and the benchmark)."""

    sent: int = 0
    failed: int = 0
    blocked: int = 0
    retried: int = 0
    retry_after: int = 0
    claimed: int = 0


def backoff(attempts: int) -> timedelta:
    """Delay before retrying after a network error, growing with the attempts (with jitter)."""
    base = min(MAX_BACKOFF.total_seconds(), 5.0 * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


class Dispatcher:
    """Deliver the outbox through ``bot``, within its rate limiter's budget (which sets the
    pace: ``rate`` messages a second). Several dispatchers may share one database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bot: ExtBot[Priority],
        *,
        lease: timedelta = DEFAULT_LEASE,
        concurrency: int | None = None,
        batch_size: int | None = None,
        max_attempts: int = 12,
        poll_interval: float = 0.5,
        progress_interval: float = 3.0,
        clock: Callable[[], datetime] = utc_now,
        owner: str | None = None,
    ) -> None:
        if not isinstance(bot.rate_limiter, TelegramRateLimiter):
            raise TypeError("the dispatcher's bot needs a TelegramRateLimiter (its token's budget)")
        self.sessions = sessions
        self.bot = bot
        rate = bot.rate_limiter.rate
        self.lease = lease
        # Enough senders to keep the pipe full at Telegram's ~0.1-0.5 s latency.
        self.concurrency = concurrency or max(4, min(256, int(rate / 2) + 1))
        # About half a second of sending per claim, at most 500 rows: the claim and its render
        # run on the event loop's thread (SQLite), and a 1,000-row claim held it for 30-110 ms
        # at R=1,000, longer than the rate limiter makes up for.
        self.batch_size = batch_size or max(self.concurrency + 8, min(500, int(rate / 2)))
        self.max_attempts = max_attempts
        self.poll_interval = poll_interval
        self.progress_interval = progress_interval
        self.clock = clock
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stats = DispatchStats()
        self._queue: asyncio.PriorityQueue[tuple[int, int, Outgoing]] = asyncio.PriorityQueue()
        self._seq = itertools.count()
        self._held: set[int] = set()
        self._results: list[Result] = []
        self._flush_now = asyncio.Event()
        self._in_flight = 0
        self._stopping = False

    # -- public ---------------------------------------------------------------------------------
    @property
    def queued(self) -> int:
        """Messages claimed and rendered, waiting for a sender."""
        return self._queue.qsize()

    @property
    def held(self) -> int:
        """Rows this dispatcher holds the lease of and has not written back yet."""
        return len(self._held)

    async def run(self, stop: asyncio.Event | None = None, *, until_idle: bool = False) -> None:
        """Deliver until ``stop`` is set (or, with ``until_idle``, until nothing is due)."""
        stop = stop or asyncio.Event()
        senders = [asyncio.create_task(self._sender()) for _ in range(self.concurrency)]
        helpers = [
            asyncio.create_task(self._writer()),
            asyncio.create_task(self._lease_keeper()),
            asyncio.create_task(self._progress_loop()),
        ]
        try:
            await self._claimer(stop, until_idle)
        finally:
            self._stopping = True
            # Let in-flight sends finish; queued messages are released below.
            while self._in_flight:  # noqa: ASYNC110 - a few sends finishing, not a signal
                await asyncio.sleep(0.01)
            for task in senders:
                task.cancel()
            await asyncio.gather(*senders, return_exceptions=True)
            self._release_queued()
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            await self._flush()

    # -- claimer --------------------------------------------------------------------------------
    async def _claimer(self, stop: asyncio.Event, until_idle: bool) -> None:
        idle_rounds = 0
        while not stop.is_set():
            if self._queue.qsize() > self.batch_size // 2:
                await self._wait(stop, 0.02)
                continue
            claimed = await self._claim_batch()
            if claimed:
                idle_rounds = 0
                if claimed >= self.batch_size:
                    continue
            elif until_idle and self._queue.empty() and not self._in_flight:
                await self._flush()
                if not self._held and not await self._progress_once():
                    idle_rounds += 1
                    if idle_rounds >= 2:
                        return
                continue
            await self._wait(stop, self.poll_interval)

    async def _claim_batch(self) -> int:
        now = self.clock()
        try:
            async with self.sessions() as session, session.begin():
                rows = await claim_due(
                    session, owner=self.owner, now=now, lease=self.lease, limit=self.batch_size
                )
                outgoing, settled = await render(session, rows, now)
        except Exception:
            log.exception("claiming due deliveries failed; retrying")
            return 0
        self.stats.claimed += len(rows)
        self._held.update(r.id for r in rows)
        if settled:
            self._results.extend(settled)
            self._flush_now.set()
        for item in outgoing:
            self._queue.put_nowait((item.row.priority, next(self._seq), item))
        return len(rows)

    @staticmethod
    async def _wait(stop: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)

    # -- senders --------------------------------------------------------------------------------
    async def _sender(self) -> None:
        while True:
            _, _, item = await self._queue.get()
            if self._stopping:
                self._results.append(Result(item.row.id, "pending", retry_at=self.clock()))
                continue
            self._in_flight += 1
            try:
                result = await self._send(item)
            finally:
                self._in_flight -= 1
            self._results.append(result)
            if len(self._results) >= 100:
                self._flush_now.set()

    async def _send(self, item: Outgoing) -> Result:
        row = item.row
        while True:
            try:
                message_id = await self._send_message(item)
            except RetryAfter:
                # Telegram asked everyone to wait (the rate limiter pauses every request of the
                # token); the same message goes again afterwards.
                self.stats.retry_after += 1
                continue
            except Forbidden as exc:
                self.stats.blocked += 1
                return Result(row.id, "blocked", error=self._kept(exc), chat_id=row.chat_id)
            except BadRequest as exc:
                self.stats.failed += 1
                return Result(row.id, "failed", error=self._kept(exc))
            except TelegramError as exc:  # network errors, timeouts, 5xx
                if row.attempts >= self.max_attempts:
                    self.stats.failed += 1
                    return Result(row.id, "failed", error=f"gave up: {self._kept(exc)}")
                self.stats.retried += 1
                retry_at = self.clock() + backoff(row.attempts)
                return Result(row.id, "pending", error=self._kept(exc), retry_at=retry_at)
            self.stats.sent += 1
            return Result(row.id, "sent", message_id=message_id)

    def _kept(self, exc: TelegramError) -> str:
        """The text kept of a send's error (``last_error``, ``blocked_chats.error``): never
        the bot token, whatever the server answered."""
        return redact(exc.message, self.bot.token)

    async def _send_message(self, item: Outgoing) -> int:
        """``sendMessage`` for ``item``, at its priority in the token's budget; the new
        message's id."""
        row = item.row
        priority = Priority.BROADCAST if row.priority >= PRIORITY_BROADCAST else Priority.REMINDER
        message = await self.bot.send_message(
            row.chat_id,
            item.text,
            entities=item.entities or None,
            reply_markup=item.reply_markup,
            rate_limit_args=priority,
        )
        return message.message_id

    def _release_queued(self) -> None:
        while not self._queue.empty():
            _, _, item = self._queue.get_nowait()
            self._results.append(Result(item.row.id, "pending", retry_at=self.clock()))

    # -- writer ---------------------------------------------------------------------------------
    async def _writer(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_now.wait(), 0.1)
            self._flush_now.clear()
            await self._flush()

    async def _flush(self) -> None:
        if not self._results:
            return
        batch, self._results = self._results, []
        now = self.clock()
        try:
            async with self.sessions() as session, session.begin():
                await record_results(session, owner=self.owner, results=batch, now=now)
                await mark_blocked(
                    session,
                    {r.chat_id: r.error for r in batch if r.status == "blocked" and r.chat_id},
                    now,
                )
        except Exception:
            log.exception("recording %d delivery results failed; retrying", len(batch))
            self._results[:0] = batch
            await asyncio.sleep(0.5)
            return
        self._held.difference_update(r.id for r in batch)

    # -- leases ---------------------------------------------------------------------------------
    async def _lease_keeper(self) -> None:
        period = max(self.lease.total_seconds() / 3, 0.2)
        while True:
            await asyncio.sleep(period)
            ids = list(self._held)
            if not ids:
                continue
            try:
                async with self.sessions() as session, session.begin():
                    await renew_leases(
                        session, owner=self.owner, ids=ids, until=self.clock() + self.lease
                    )
            except Exception:
                log.exception("renewing leases failed")

    # -- broadcast progress ---------------------------------------------------------------------
    async def _progress_loop(self) -> None:
        while True:
            await asyncio.sleep(self.progress_interval)
            try:
                await self._progress_once()
            except Exception:
                log.exception("updating broadcast progress failed")

    async def _progress_once(self) -> bool:
        """Edit progress messages; finish broadcasts with nothing open. True when a final
        report was queued."""
        now = self.clock()
        edits: list[tuple[int, int, str]] = []
        finished = False
        async with self.sessions() as session, session.begin():
            running = list(
                await session.scalars(select(Broadcast).where(Broadcast.status == "sending"))
            )
            for broadcast in running:
                # one count per broadcast and round (at N=100,000 each one holds the loop's
                # thread for tens of ms)
                c = await broadcasts.counts(session, broadcast.id)
                if await broadcasts.finish_if_done(session, broadcast, now, c) is not None:
                    finished = True
                language = await broadcasts.admin_language(session, broadcast.created_by)
                text = broadcasts.progress_text(language, c)
                if broadcast.progress_message_id and text != broadcast.progress_text:
                    broadcast.progress_text = text
                    edits.append((broadcast.admin_chat_id, broadcast.progress_message_id, text))
        for chat_id, message_id, text in edits:
            try:
                await self.bot.edit_message_text(
                    text, chat_id=chat_id, message_id=message_id, rate_limit_args=Priority.BROADCAST
                )
            except TelegramError as exc:  # a RetryAfter has paused the bot's requests already
                log.info("progress message %s not edited: %s", message_id, exc.message)
        return finished
