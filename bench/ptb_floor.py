"""The floor: a stock python-telegram-bot ``ConversationHandler`` bot walking the bookings of
``bench/updates.py``, with no persistence, so that bookbot's updates/s can be read against it.

Usage::

    .venv/bin/python bench/ptb_floor.py [--bookings B] [--conversations N] [--users U]

What is the same as ``bench/updates.py`` (its driver is imported, not copied):

- the updates: ``bench.updates.book_and_cancel`` drives each booking (``/book`` · service ·
  staff for the haircut · day · time · first name · last name · shared contact · email ·
  Confirm · ``/mybookings`` · Cancel · Yes, cancel it), with the same round-robin picks, the
  same screen checks, and the same JSON from ``bot.local_api.UpdateFactory``, which calls
  ``Update.de_json`` on it inside the timer before ``Application.process_update``;
- the replies: the same in-process Bot API (``bot.local_api.LocalBotApi(record=False)``) answers
  them, with a Message for ``sendMessage`` / ``editMessageText`` and ``true`` for
  ``answerCallbackQuery``; the floor makes the same 20 calls per booking (22 with the staff
  step) with bookbot's texts and keyboards (the month view, twelve times a page, the nav row);
- the Application: ``ApplicationBuilder`` with that request, no rate limiter, no JobQueue; the
  warm-up (20 bookings), ``gc.freeze()`` after it, the pinning to one CPU, the figures printed.

What differs, and is what the floor leaves out: no database (state is ConversationHandler's
dictionary and ``user_data``, bookings a dictionary; nothing survives a restart, no version
check, no idle expiry), no provider (the free times are a fixed 09:00-17:45 grid per person
minus the ones taken), no gettext or Babel (English strings, dates by ``strftime``), no
validation beyond "has an @", no reminders, no "↻ Change" button, and python-telegram-bot's own
``Update.de_json`` (``main`` refuses to run if something replaced it). ``--conversations N``
opens N other users' conversations first (stopped at four steps of a booking, as
``bench/updates.py`` stores N) but they live in memory only. ``--users U`` drives U bookings at a
time, each handing over to the others before every update (``bench/updates.py`` drives one
after another, as the default ``--users 1`` does). Last line: ``updates_per_s=<number>``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
# bench/providers.py would shadow the ``providers`` package: the project root goes first.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]

from telegram import Update  # noqa: E402
from telegram.ext import Application  # noqa: E402

from bench.ptb_floor_bot import FIRST_DAY, GRID, build_floor  # noqa: E402
from bench.updates import (  # noqa: E402
    PREFILL_BASE,
    USER_BASE,
    WARMUP_BOOKINGS,
    BenchFailure,
    Chats,
    User,
    book_and_cancel,
    cpu_model,
    pin_to_one_cpu,
)
from bot.local_api import LOCAL_TOKEN, LocalBotApi, UpdateFactory  # noqa: E402


class TakingTurns(User):
    """A user who lets the other users' bookings go first before each of its updates."""

    async def _process(self, update: Update) -> None:
        await asyncio.sleep(0)
        await super()._process(update)


def make_user(application: Application, chats: Chats, user_id: int, turns: bool) -> User:  # type: ignore[type-arg]
    """bench.updates.new_user's user, or one that takes turns (``--users`` above 1)."""
    kind = TakingTurns if turns else User
    factory = UpdateFactory(application.bot, user_id=user_id, first_name="Anna", language="en")
    return kind(application, chats, user_id, factory)


async def open_conversations(application: Application, chats: Chats, count: int) -> None:  # type: ignore[type-arg]
    """``count`` users left in the middle of a booking, at the four steps bench/updates.py's
    pre-fill copies (after /book, on the calendar, on the times, in the form)."""
    for i in range(count):
        user = make_user(application, chats, PREFILL_BASE + i, turns=False)
        await user.send("/book")
        if i % 4 >= 1:
            await user.tap("svc:colour")
        if i % 4 >= 2:
            await user.tap(f"day:{FIRST_DAY.isoformat()}")
        if i % 4 >= 3:
            await user.tap(f"time:{GRID[0]}:Anna")
            await user.send("Camille")
            await user.send("Dupont")


@dataclass
class FloorRun:
    bookings: int
    updates: int
    seconds: float
    cpu_seconds: float
    #: bookings the floor bot confirmed and cancelled, warm-up included
    confirmed: int
    cancelled: int


async def run(
    bookings: int, conversations: int, users: int, warmup: int = WARMUP_BOOKINGS
) -> FloorRun:
    """Drive ``warmup`` untimed and then ``bookings`` timed bookings; fail unless every one of
    them was confirmed and cancelled by the floor bot."""
    chats = Chats()
    api = LocalBotApi(record=False, on_call=chats.on_call)
    application, floor = build_floor(LOCAL_TOKEN, api)
    async with application:
        started = time.perf_counter()
        await open_conversations(application, chats, conversations)
        print(f"opened {conversations} conversations in {time.perf_counter() - started:.1f} s")
        for k in range(warmup):
            await book_and_cancel(make_user(application, chats, USER_BASE + k, False), k)
        timed = [
            make_user(application, chats, USER_BASE + warmup + k, users > 1)
            for k in range(bookings)
        ]
        gc.collect()
        gc.freeze()  # as bench/updates.py does once warmed up (bot.app.freeze_startup_heap)
        started, cpu_started = time.perf_counter(), time.process_time()
        chunk = max(1, bookings // 10)
        mark, sent_at_mark = started, 0
        for first in range(0, bookings, users):
            group = timed[first : first + users]
            await asyncio.gather(*(book_and_cancel(u, first + i) for i, u in enumerate(group)))
            done = first + len(group)
            if done // chunk > first // chunk:
                sent, now = sum(u.sent for u in timed[:done]), time.perf_counter()
                print(
                    f"  bookings {done:>6}: {(sent - sent_at_mark) / (now - mark):7.0f} updates/s"
                )
                mark, sent_at_mark = now, sent
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
    result = FloorRun(
        bookings, sum(u.sent for u in timed), seconds, cpu_seconds, floor.confirmed, floor.cancelled
    )
    expected = warmup + bookings
    if not (floor.confirmed == floor.cancelled == expected) or floor.appointments:
        raise BenchFailure(
            f"expected {expected} bookings confirmed and cancelled; the floor confirmed "
            f"{floor.confirmed}, cancelled {floor.cancelled}, holds {len(floor.appointments)}"
        )
    return result


def stock_parser() -> bool:
    """Whether ``Update.de_json`` is python-telegram-bot's own (bot.app replaces it)."""
    return str(inspect.getattr_static(Update, "de_json").__func__.__module__).startswith(
        "telegram."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bookings", type=int, default=250, help="timed bookings (as bench/updates.py)"
    )
    parser.add_argument(
        "--conversations",
        type=int,
        default=1_000,
        help="other users' conversations left open first",
    )
    parser.add_argument(
        "--users", type=int, default=1, help="bookings driven at a time, interleaved"
    )
    parser.add_argument("--cpu", type=int, help="CPU to pin to (default: the first allowed)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to one CPU")
    args = parser.parse_args()
    if not stock_parser():
        raise SystemExit("Update.de_json is not python-telegram-bot's own: not the floor")

    pinned = None if args.no_pin else pin_to_one_cpu(args.cpu)
    print(f"python {platform.python_version()} · os.cpu_count()={os.cpu_count()} · {cpu_model()}")
    print(f"pinned to CPU {pinned}" if pinned is not None else "not pinned")
    result = asyncio.run(run(args.bookings, args.conversations, max(1, args.users)))
    print(
        f"floor: {result.confirmed} bookings confirmed and cancelled (warm-up included), "
        f"{args.users} at a time"
    )
    print(
        f"bookings: {result.bookings} ({result.updates / max(1, result.bookings):.1f} updates each)"
    )
    print(f"updates: {result.updates} in {result.seconds:.2f} s")
    print(
        f"per update: {result.seconds / result.updates * 1e6:.0f} µs wall, "
        f"{result.cpu_seconds / result.updates * 1e6:.0f} µs CPU (all threads)"
    )
    print(f"updates_per_s={result.updates / result.seconds:.0f}")


if __name__ == "__main__":
    main()
