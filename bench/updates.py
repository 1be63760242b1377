"""Bot-side updates per second: complete bookings through ``Application.process_update``.

Usage::

    .venv/bin/python bench/updates.py [--conversations N] [--bookings B] [--database-url URL]

The real python-telegram-bot ``Application`` (built by ``bot.app.build_application`` with
``rate_limit=False, jobs=False``) talks to the in-process Bot API (``bot.local_api.LocalBotApi``,
``record=False``), the sample business runs on the ``local`` provider, and every piece of state
is durable in the database: a temporary SQLite file (WAL, ``synchronous=NORMAL``) unless
``--database-url`` names another (``postgresql+asyncpg://...``), which must be empty (no
tables: the benchmark migrates it and counts its rows at the end).

Each simulated user is a new Telegram user who makes one complete booking and then cancels it
(so the sample salon's limited slots never run out however long the run):

``/book`` · service · staff (when the service has several) · day · time · first name ·
last name · shared contact · email · Confirm · ``/mybookings`` · Cancel · Yes, cancel it

Services, staff, days and times are picked round-robin among the buttons offered, so bookings
spread over the calendar instead of all fighting over the first free slot. Every screen is
checked (the run fails loudly if a booking does not go through), and the database is checked
at the end (one booking row and one cancelled appointment per booking driven).

``--conversations N`` first stores N other users' conversations, inserted in bulk straight into
the ``conversations`` table with ``data`` copied from real conversations captured at different
steps (then SQLite's WAL is checkpointed, PostgreSQL's table analysed). The clock is the wall
clock; the timed part excludes set-up, pre-fill and a short warm-up. The last line printed
is ``updates_per_s=<number>``.

The process is pinned to one CPU (``--cpu``, default the first allowed one) before any thread
starts. SQLite runs on the event loop's own thread (:mod:`storage.sqlite_inline`); with
``--aiosqlite`` it goes through aiosqlite's worker thread (one per connection) instead, as before
that driver existed, and those threads share the one core with the loop. A PostgreSQL server
is another process: its CPU time is not in the "µs CPU" figure, only in the wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import platform
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from inspect import iscoroutinefunction
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
# bench/providers.py would shadow the ``providers`` package: the project root goes first.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]

from sqlalchemy import Table, func, insert, inspect, select  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import Application  # noqa: E402

from bot.app import build_application, freeze_startup_heap  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.local_api import ApiCall, LocalBotApi, UpdateFactory  # noqa: E402
from bot.services import Services, build_services  # noqa: E402
from storage.db import create_engine  # noqa: E402
from storage.models import Booking, Conversation, LocalAppointment  # noqa: E402

#: First Telegram user id of the benchmark's own users; pre-filled ones start at PREFILL_BASE.
USER_BASE = 10_000_000
PREFILL_BASE = 1_000_000
#: Bookings driven (and not timed) before the clock starts: catalog, gettext, Babel and
#: SQLAlchemy's statement caches warm up.
WARMUP_BOOKINGS = 20
TIME_LABEL = re.compile(r"^\d{1,2}:\d{2}")


#: ``--steps`` label of the time spent building ``Update`` objects (``Update.de_json``)
BUILDING = "(building the Update objects: Update.de_json)"


class BenchFailure(RuntimeError):
    """A screen was not the one a booking should have reached."""


@dataclass
class Screen:
    text: str = ""
    #: rows of (label, callback data)
    buttons: list[list[tuple[str, str]]] = field(default_factory=list)
    message_id: int | None = None


@dataclass
class Chats:
    """The newest text and the newest inline menu of every chat, fed by ``LocalBotApi.on_call``
    (the Bot API keeps no list of calls in the benchmark)."""

    last_text: dict[int, str] = field(default_factory=dict)
    menus: dict[int, Screen] = field(default_factory=dict)

    def on_call(self, call: ApiCall) -> None:
        if call.method not in ("sendMessage", "editMessageText"):
            return
        chat_id = int(call.params["chat_id"])
        text = str(call.params.get("text", ""))
        self.last_text[chat_id] = text
        markup = call.params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            rows = [
                [(b["text"], b.get("callback_data", "")) for b in row]
                for row in markup["inline_keyboard"]
            ]
            self.menus[chat_id] = Screen(text, rows, call.message_id)


@dataclass
class User:
    """One simulated Telegram user, driving the bot the way a person taps through it."""

    application: Application  # type: ignore[type-arg]
    chats: Chats
    user_id: int
    updates: UpdateFactory
    sent: int = 0
    #: what the next update is (``--steps`` sums the wall time of each kind of update)
    step: str = ""
    step_times: dict[str, float] | None = None
    #: repeat the tapped menu in each callback query, as Telegram does (--telegram-callbacks)
    echo_menu: bool = False

    async def _process(self, update: Update) -> None:
        started = time.perf_counter()
        await self.application.process_update(update)
        if self.step_times is not None:
            spent = time.perf_counter() - started
            self.step_times[self.step] = self.step_times.get(self.step, 0.0) + spent
        self.sent += 1

    def _build(self, make: Callable[[], Update]) -> Update:
        """``make()`` (``Update.de_json``, as polling does for every update), timed apart."""
        if self.step_times is None:
            return make()
        started = time.perf_counter()
        update = make()
        spent = time.perf_counter() - started
        self.step_times[BUILDING] = self.step_times.get(BUILDING, 0.0) + spent
        return update

    async def send(self, text: str) -> None:
        await self._process(self._build(lambda: self.updates.text(text)))

    async def share_contact(self, phone: str) -> None:
        await self._process(self._build(lambda: self.updates.contact(phone)))

    async def tap(self, data: str) -> None:
        menu = self.menus()
        message_id = menu.message_id or 1
        if not self.echo_menu:
            await self._process(
                self._build(lambda: self.updates.button(data, message_id=message_id))
            )
            return
        # As Telegram sends it: the tapped message's text and keyboard inside the callback query.
        keyboard = {
            "inline_keyboard": [
                [{"text": label, "callback_data": token} for label, token in row]
                for row in menu.buttons
            ]
        }
        await self._process(
            self._build(
                lambda: self.updates.button(
                    data, message_id=message_id, text=menu.text, reply_markup=keyboard
                )
            )
        )

    def menus(self) -> Screen:
        return self.chats.menus.get(self.user_id) or Screen()

    @property
    def text(self) -> str:
        return self.chats.last_text.get(self.user_id, "")

    def expect(self, fragment: str, where: str) -> None:
        if fragment not in self.text and fragment not in self.menus().text:
            raise BenchFailure(
                f"user {self.user_id} at {where}: expected {fragment!r}, got:\n{self.text}"
            )

    def buttons(self, keep: Callable[[str], bool]) -> list[tuple[str, str]]:
        return [b for row in self.menus().buttons for b in row if keep(b[0])]


def _is_nav(label: str) -> bool:
    return label in ("« Back", "✖ Cancel")


async def book_and_cancel(user: User, k: int) -> None:
    """One complete booking, then its cancellation; ``k`` spreads the choices round-robin.
    ``user.step`` names each update after what it does (for ``--steps``)."""
    user.step = "/book"
    await user.send("/book")
    user.expect("Which service would you like?", "service")
    services = user.buttons(lambda label: not _is_nav(label))
    user.step = "tap service"
    await user.tap(services[k % len(services)][1])
    if "Who would you like to see?" in user.menus().text:
        people = user.buttons(lambda label: not _is_nav(label))
        user.step = "tap staff"
        await user.tap(people[(k // len(services)) % len(people)][1])
    user.expect("Pick a day", "date")
    days = user.buttons(str.isdigit)
    if not days:
        raise BenchFailure(f"user {user.user_id}: no selectable day:\n{user.menus().text}")
    user.step = "tap day"
    await user.tap(days[(k * 7) % len(days)][1])
    user.expect("Free times on", "slot")
    times = user.buttons(lambda label: bool(TIME_LABEL.match(label)))
    user.step = "tap time"
    await user.tap(times[(k * 5) % len(times)][1])
    user.expect("first name", "first name")
    user.step = "first name"
    await user.send("Anna")
    user.step = "last name"
    await user.send("Martin")
    user.step = "contact"
    await user.share_contact(f"+3361{user.user_id % 10_000_000:07d}")
    user.step = "email"
    await user.send(f"anna.{user.user_id}@example.org")
    user.expect("Please check your booking", "confirm")
    user.step = "tap Confirm"
    await user.tap(user.buttons(lambda label: label == "✅ Confirm")[0][1])
    user.expect("Booked!", "booked")
    user.step = "/mybookings"
    await user.send("/mybookings")
    user.expect("Your upcoming appointments", "mybookings")
    user.step = "tap Cancel <when>"
    await user.tap(user.buttons(lambda label: label.startswith("✖ Cancel "))[0][1])
    user.step = "tap Yes, cancel it"
    await user.tap(user.buttons(lambda label: label == "Yes, cancel it")[0][1])
    user.expect("Your appointment is cancelled.", "cancelled")


def new_user(application: Application, chats: Chats, user_id: int) -> User:  # type: ignore[type-arg]
    factory = UpdateFactory(application.bot, user_id=user_id, first_name="Anna", language="en")
    return User(application, chats, user_id, factory)


# -- pre-fill ---------------------------------------------------------------------------------
async def capture_templates(
    application: Application,  # type: ignore[type-arg]
    chats: Chats,
    services: Services,
) -> list[Any]:
    """Real conversation states at several steps of a booking, to copy into the pre-fill."""

    async def after_book(u: User) -> None:
        await u.send("/book")

    async def at_date(u: User) -> None:
        await after_book(u)
        await u.tap(u.buttons(lambda label: not _is_nav(label))[0][1])
        await u.tap(u.buttons(lambda label: not _is_nav(label))[1][1])

    async def at_slot(u: User) -> None:
        await at_date(u)
        await u.tap(u.buttons(str.isdigit)[0][1])

    async def in_form(u: User) -> None:
        await at_slot(u)
        await u.tap(u.buttons(lambda label: bool(TIME_LABEL.match(label)))[0][1])
        await u.send("Camille")
        await u.send("Dupont")

    stops = [after_book, at_date, at_slot, in_form]
    table = cast(Table, Conversation.__table__)
    templates = []
    for index, stop in enumerate(stops):
        user = new_user(application, chats, USER_BASE - 1 - index)
        await stop(user)
        async with services.sessions() as session, session.begin():
            data = await session.scalar(select(table.c.data).where(table.c.user_id == user.user_id))
            await session.execute(table.delete().where(table.c.user_id == user.user_id))
        templates.append(data)
    return templates


async def prefill(engine: AsyncEngine, templates: list[Any], count: int) -> float:
    """Insert ``count`` conversations in bulk (one transaction); returns the seconds it took."""
    if count <= 0:
        return 0.0
    started = time.perf_counter()
    now = datetime.now(UTC)
    table = cast(Table, Conversation.__table__)
    batch = 10_000
    async with engine.begin() as connection:
        for first in range(0, count, batch):
            rows = []
            for i in range(first, min(count, first + batch)):
                user_id = PREFILL_BASE + i
                rows.append(
                    {
                        "chat_id": user_id,
                        "user_id": user_id,
                        "data": templates[i % len(templates)],
                        "version": 1 + i % 9,
                        # idle ones in every state: some expired a while ago, most still open
                        "expires_at": now + timedelta(minutes=(i % 40) - 10),
                        "updated_at": now - timedelta(minutes=i % 30),
                    }
                )
            await connection.execute(insert(table), rows)
    async with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            # A bot that accumulated these conversations over days has checkpointed its WAL
            # many times; without this, the first commit of the timed run would copy the whole
            # pre-fill from the WAL into the database file.
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            # Likewise autovacuum would have analysed the table by then (the planner's figures).
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("VACUUM ANALYZE conversations")
    return time.perf_counter() - started


# -- the run ----------------------------------------------------------------------------------
def pin_to_one_cpu(cpu: int | None) -> int | None:
    """Pin this process (and the threads it will start) to one CPU; returns which."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    chosen = allowed[0] if cpu is None else cpu
    os.sched_setaffinity(0, {chosen})
    return chosen


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


async def require_empty(url: str) -> None:
    """The benchmark counts rows at the end: it wants a database with no tables yet."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    if tables:
        raise SystemExit(
            f"the database has tables ({', '.join(sorted(tables)[:3])}...); "
            "the benchmark wants an empty one"
        )


async def run(args: argparse.Namespace, database_url: str) -> float:
    if args.aiosqlite:
        import bot.services as wiring

        wiring.create_engine = functools.partial(create_engine, inline_sqlite=False)  # type: ignore[attr-defined]
    await require_empty(database_url)
    config = load_config(env={}).model_copy(update={"database_url": database_url})
    totals: dict[str, float] = {}
    if args.breakdown:
        # before the Application exists: handlers are registered as function objects
        install_breakdown(totals)
    services = await build_services(config, env={}, clock=_clock_from(args.start))
    print(f"database: {services.engine.dialect.name} ({services.engine.driver})")
    chats = Chats()
    api = LocalBotApi(record=False, on_call=chats.on_call)
    application = build_application(services, request=api, rate_limit=False, jobs=False)
    try:
        async with application:
            templates = await capture_templates(application, chats, services)
            seconds = await prefill(services.engine, templates, args.conversations)
            print(f"prefilled {args.conversations} conversations in {seconds:.1f} s")
            for k in range(WARMUP_BOOKINGS):
                await book_and_cancel(new_user(application, chats, USER_BASE + k), k)
            users = [
                new_user(application, chats, USER_BASE + WARMUP_BOOKINGS + k)
                for k in range(args.bookings)
            ]
            step_times: dict[str, float] = {}
            for user in users:
                user.echo_menu = args.telegram_callbacks
                if args.steps:
                    user.step_times = step_times
            for label in totals:
                totals[label] = 0.0  # the warm-up does not count
            # What `bookbot run` does once the bot has started (bot.app._post_init, which
            # `async with application` does not call).
            freeze_startup_heap()
            profiler = _Profiler(args.profile)
            started, cpu_started = time.perf_counter(), time.process_time()
            profiler.start()
            chunk = max(1, args.bookings // 10)
            mark, sent_at_mark = time.perf_counter(), 0
            for k, user in enumerate(users):
                await book_and_cancel(user, k)
                if (k + 1) % chunk == 0:
                    sent = sum(u.sent for u in users[: k + 1])
                    now = time.perf_counter()
                    rate = (sent - sent_at_mark) / (now - mark)
                    print(f"  bookings {k + 1:>6}: {rate:7.0f} updates/s")
                    mark, sent_at_mark = now, sent
            profiler.stop()
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
        updates = sum(u.sent for u in users)
        await check_database(services, WARMUP_BOOKINGS + args.bookings, args.conversations)
    finally:
        await services.aclose()
    for label, seconds in totals.items():
        print(f"  {label}: {seconds / updates * 1e6:.0f} µs CPU per update")
    for label, seconds in step_times.items():
        # per booking: "tap staff" is skipped for services with a single staff member
        print(f"  step {label!r}: {seconds / args.bookings * 1e6:.0f} µs wall per booking")
    if step_times:
        total = elapsed / args.bookings * 1e6
        print(
            f"  all steps and building: {sum(step_times.values()) / args.bookings * 1e6:.0f} "
            f"of {total:.0f} µs per booking (the rest is the simulated user's own bookkeeping)"
        )
    print(f"bookings: {args.bookings} ({updates / max(1, args.bookings):.1f} updates each)")
    print(f"updates: {updates} in {elapsed:.2f} s")
    print(
        f"per update: {elapsed / updates * 1e6:.0f} µs wall, "
        f"{cpu / updates * 1e6:.0f} µs CPU (all threads)"
    )
    return updates / elapsed


#: What ``--breakdown`` times (CPU time inside each, summed; nested ones overlap).
BREAKDOWN = (
    ("telegram.ext", "Application", "process_update"),
    ("bot.engine.engine", "Engine", "handle"),
    ("bot.engine.engine", "Engine", "_dispatch"),
    ("bot.engine.engine", "Engine", "_save"),
    ("bot.engine.engine", "Engine", "load"),
    ("bot.engine.engine", "Engine", "_store"),
    # the synchronous bodies the engine runs inside run_sync (the statements, without the
    # connection's checkout and close)
    ("storage.conversations", None, "read"),
    ("storage.conversations", None, "write"),
    ("bot.handlers", None, "deliver"),
    ("bot.engine.features", "Features", "take"),
    ("providers.local.adapter", "LocalProvider", "available_days"),
    ("providers.local.adapter", "LocalProvider", "slots"),
    ("providers.local.adapter", "LocalProvider", "book"),
    ("providers.local.adapter", "LocalProvider", "cancel"),
    ("storage.bookings", None, "record_confirmed"),
    ("storage.bookings", None, "upcoming"),
    ("storage.bookings", None, "owned"),
    ("storage.bookings", None, "cancel_owned"),
)


def install_breakdown(totals: dict[str, float]) -> None:
    """Wrap the coroutines and functions of :data:`BREAKDOWN` to add up the CPU time spent
    inside each."""
    import importlib

    for module_name, class_name, name in BREAKDOWN:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        owner = getattr(module, class_name) if class_name else module
        original = getattr(owner, name, None)
        if original is None:
            continue
        label = f"{class_name + '.' if class_name else module_name + '.'}{name}"
        totals[label] = 0.0

        def timed(original: Any = original, label: str = label) -> Any:
            if not iscoroutinefunction(original):

                @functools.wraps(original)
                def plain(*args: Any, **kwargs: Any) -> Any:
                    started = time.process_time()
                    try:
                        return original(*args, **kwargs)
                    finally:
                        totals[label] += time.process_time() - started

                return plain

            @functools.wraps(original)
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                started = time.process_time()
                try:
                    return await original(*args, **kwargs)
                finally:
                    totals[label] += time.process_time() - started

            return wrapper

        setattr(owner, name, timed())


def _clock_from(origin: datetime) -> Callable[[], datetime]:
    """Wall-clock time as if the run had started at ``origin``: the month view and the free
    days do not depend on the day of the month the benchmark happens to run."""
    started = time.monotonic()
    return lambda: origin + timedelta(seconds=time.monotonic() - started)


class _Profiler:
    """``--profile out.prof`` (cProfile) or ``--profile out.html`` (pyinstrument, which follows
    coroutines across awaits; ``pip install pyinstrument``)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.profiler: Any = None
        if path and path.endswith(".html"):
            from pyinstrument import Profiler

            self.profiler = Profiler(interval=0.0005, async_mode="enabled")
        elif path:
            import cProfile

            self.profiler = cProfile.Profile()

    def start(self) -> None:
        if self.profiler is not None:
            (self.profiler.start if hasattr(self.profiler, "start") else self.profiler.enable)()

    def stop(self) -> None:
        if self.profiler is None or self.path is None:
            return
        if hasattr(self.profiler, "stop"):
            self.profiler.stop()
            Path(self.path).write_text(self.profiler.output_html())
            print(self.profiler.output_text(unicode=True, show_all=False)[:20_000])
        else:
            self.profiler.disable()
            self.profiler.dump_stats(self.path)
        print(f"profile written to {self.path}")


async def check_database(services: Services, bookings: int, prefilled: int) -> None:
    """The run did what it says: every booking stored, then cancelled; the pre-fill intact."""
    async with services.sessions() as session:
        booked = await session.scalar(select(func.count()).select_from(Booking))
        cancelled = await session.scalar(
            select(func.count()).select_from(Booking).where(Booking.status == "cancelled")
        )
        appointments = await session.scalar(
            select(func.count())
            .select_from(LocalAppointment)
            .where(LocalAppointment.status == "cancelled")
        )
        stored = await session.scalar(select(func.count()).select_from(Conversation))
    if not (booked == cancelled == appointments == bookings):
        raise BenchFailure(
            f"expected {bookings} bookings, all cancelled; found {booked} bookings, "
            f"{cancelled} cancelled, {appointments} cancelled appointments"
        )
    if stored is None or stored < prefilled:
        raise BenchFailure(f"expected at least {prefilled} conversations, found {stored}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1_000, help="stored beforehand")
    parser.add_argument(
        "--bookings",
        type=int,
        default=250,
        help="complete bookings to drive, about 12 updates each (default: ~10 s here)",
    )
    parser.add_argument(
        "--start",
        type=datetime.fromisoformat,
        default=datetime(2027, 3, 1, 7, 0, tzinfo=UTC),
        help="the bot's clock at the start (default Monday 2027-03-01 08:00 in Paris)",
    )
    parser.add_argument(
        "--database-url",
        help="an empty database, e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/bench "
        "(default: a new SQLite file in a temporary folder)",
    )
    parser.add_argument(
        "--aiosqlite", action="store_true", help="SQLite through aiosqlite's thread (comparison)"
    )
    parser.add_argument("--cpu", type=int, help="CPU to pin to (default: the first allowed)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to one CPU")
    parser.add_argument(
        "--breakdown", action="store_true", help="CPU time per update in the main parts"
    )
    parser.add_argument(
        "--steps",
        action="store_true",
        help="wall time of process_update per kind of update (without building the Update)",
    )
    parser.add_argument("--profile", metavar="FILE", help="cProfile the timed part into FILE")
    parser.add_argument(
        "--telegram-callbacks",
        action="store_true",
        help="callback queries carry the tapped message's text and keyboard, as Telegram's do "
        "(by default they carry a bare message, as in sessions 1-4's figures)",
    )
    args = parser.parse_args()

    pinned = None if args.no_pin else pin_to_one_cpu(args.cpu)
    print(f"python {platform.python_version()} · os.cpu_count()={os.cpu_count()} · {cpu_model()}")
    print(
        f"pinned to CPU {pinned} (the event loop and any thread it starts)"
        if pinned is not None
        else "not pinned"
    )
    with tempfile.TemporaryDirectory(prefix="bookbot-bench-") as scratch:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(scratch) / 'bench.db'}"
        rate = asyncio.run(run(args, url))
    print(f"updates_per_s={rate:.0f}")


if __name__ == "__main__":
    main()
