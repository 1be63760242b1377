"""Broadcast benchmark: N recipients through the real dispatcher against the fake Bot API
server (a separate process) enforcing R messages/s with 429 + retry_after beyond it.

    python bench/broadcast.py --recipients 300 --limit 30

Prints the sustained send rate as a share of the limit, 429s received, duplicates and losses
(counted by the server), and the peak resident memory of this process (the dispatcher; the
fake server runs elsewhere). The last line is
``share_of_limit=<x> duplicates=<n> lost=<n> peak_mb=<m>``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.ext import ExtBot

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.delivery.__main__ import build_bot  # noqa: E402
from bot.delivery.broadcasts import start_broadcast  # noqa: E402
from bot.delivery.dispatcher import Dispatcher  # noqa: E402
from bot.rate_limiter import Priority  # noqa: E402
from storage.db import create_engine, create_session_factory  # noqa: E402
from storage.delivery_models import Broadcast, Delivery, DeliveryPreference  # noqa: E402
from storage.migrate import upgrade_async  # noqa: E402
from storage.models import Business, Fiche, User  # noqa: E402
from tests.fakes.bot_api import TOKEN  # noqa: E402

FIRST_ID = 1_000_000
ADMIN_CHAT = 1
CHUNK = 5000


def chunks(n: int) -> Iterator[range]:
    for start in range(0, n, CHUNK):
        yield range(FIRST_ID + start, FIRST_ID + min(n, start + CHUNK))


@contextlib.contextmanager
def fake_server(limit: float, workdir: Path) -> Iterator[int]:
    port_file = workdir / "port"
    process = subprocess.Popen(  # noqa: S603 - our own module
        [
            sys.executable,
            "-m",
            "tests.fakes.bot_api",
            "--limit",
            str(limit),
            "--port-file",
            str(port_file),
        ],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 20
        while not port_file.exists():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("fake Bot API server did not start")
            time.sleep(0.05)
        yield int(port_file.read_text())
    finally:
        process.terminate()
        process.wait(timeout=10)


async def count_open(sessions: async_sessionmaker[AsyncSession], broadcast_id: int) -> int:
    """Deliveries of the broadcast still pending or being sent."""
    async with sessions() as s:
        return int(
            await s.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(
                    Delivery.broadcast_id == broadcast_id,
                    Delivery.status.in_(("pending", "sending")),
                )
            )
            or 0
        )


#: the chat of the user who taps buttons during the broadcast (--taps), not a recipient
TAPPING_CHAT = 7


async def tap_while_sending(bot: ExtBot[Priority], every: float, latencies: list[float]) -> None:
    """A user taps a menu button every ``every`` seconds: the bot answers the callback query
    and edits the tapped message, through the same bot and rate limiter as the broadcast (as a
    reply does). Appends each tap's time until the edit's answer, in seconds."""
    while True:
        await asyncio.sleep(every)
        started = time.monotonic()
        await bot.answer_callback_query(f"tap{len(latencies)}")
        await bot.edit_message_text(f"menu {len(latencies)}", chat_id=TAPPING_CHAT, message_id=1)
        latencies.append(time.monotonic() - started)


def tap_summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    if not ordered:
        return "taps=0"
    p50, p95 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, len(ordered) * 95 // 100)]
    return (
        f"taps={len(ordered)} tap_ms p50={1e3 * p50:.0f} p95={1e3 * p95:.0f} "
        f"max={1e3 * ordered[-1]:.0f}"
    )


def _cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


async def run(
    recipients: int, limit: float, concurrency: int | None, taps: float | None, verbose: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        await upgrade_async(url)
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        async with sessions() as s, s.begin():
            business = Business(slug="bench", name="Bench", provider_kind="local", timezone="UTC")
            s.add(business)
            await s.flush()
            business_id = business.id
        for ids in chunks(recipients):  # streamed: memory does not grow with N
            async with sessions() as s, s.begin():
                await s.execute(insert(User), [{"id": i, "first_name": "x"} for i in ids])
                await s.execute(
                    insert(Fiche),
                    [
                        {
                            "user_id": i,
                            "business_id": business_id,
                            "first_name": "A",
                            "last_name": "B",
                        }
                        for i in ids
                    ],
                )
                # News is opt-in: every recipient said yes (the audience is who said so).
                await s.execute(
                    insert(DeliveryPreference),
                    [
                        {
                            "user_id": i,
                            "business_id": business_id,
                            "reminders": True,
                            "news": True,
                            "news_answered": True,
                        }
                        for i in ids
                    ],
                )
        now = datetime.now(UTC)
        async with sessions() as s, s.begin():
            broadcast = Broadcast(
                business_id=business_id,
                created_by=ADMIN_CHAT,
                admin_chat_id=ADMIN_CHAT,
                text="Benchmark broadcast",
                entities=[],
                audience={"kind": "all"},
            )
            s.add(broadcast)
            await s.flush()
            total = await start_broadcast(s, broadcast, now)
            broadcast_id = broadcast.id
        assert total == recipients, total

        with fake_server(limit, workdir) as port:
            dispatcher_kwargs: dict[str, Any] = {}
            if concurrency:
                dispatcher_kwargs["concurrency"] = concurrency
            # what `bookbot dispatch` uses: AiohttpRequest and the token's TelegramRateLimiter
            pool = (concurrency or 256) + 4
            bot = build_bot(TOKEN, f"http://127.0.0.1:{port}", rate=limit, pool=pool)
            # A new connection per poll: a kept-alive one could be closed by the server (idle
            # for its 5 s) just as the next poll goes out while the loop is busy sending; and
            # patience: on a loaded machine the busy server may take seconds to accept.
            no_keep_alive = httpx.Limits(max_keepalive_connections=0)
            control_client = httpx.AsyncClient(limits=no_keep_alive, timeout=60)
            async with bot, control_client as control:
                dispatcher = Dispatcher(sessions, bot, poll_interval=0.1, **dispatcher_kwargs)
                cpu_before = _cpu_seconds()
                started = time.monotonic()
                task = asyncio.create_task(dispatcher.run(until_idle=True))
                latencies: list[float] = []
                if taps:
                    tapping = asyncio.create_task(tap_while_sending(bot, taps, latencies))
                # The server's counters are polled every second; the database (a count over
                # N rows, on the dispatcher's own event loop) only once the server has seen
                # every recipient, or every 10 s, so the watching does not slow the sending.
                last_db_check = started
                while True:
                    await asyncio.sleep(1.0)
                    now_stats = (await control.get(f"http://127.0.0.1:{port}/control/stats")).json()
                    open_rows = None
                    if (
                        now_stats["distinct_chats"] >= recipients
                        or time.monotonic() - last_db_check >= 10
                        or task.done()
                    ):
                        last_db_check = time.monotonic()
                        open_rows = await count_open(sessions, broadcast_id)
                    if verbose:
                        print(
                            f"  t={time.monotonic() - started:5.1f}s "
                            f"accepted={now_stats['accepted']} "
                            f"429s={now_stats['rejected_429']} open={open_rows} "
                            f"queued={dispatcher.queued} held={dispatcher.held}",
                            flush=True,
                        )
                    if open_rows == 0:
                        break
                    if task.done():
                        task.result()
                        break
                # measured before the final report goes to the admin
                stats = (await control.get(f"http://127.0.0.1:{port}/control/stats")).json()
                if taps:
                    tapping.cancel()
                await task
                elapsed = time.monotonic() - started
                cpu = _cpu_seconds() - cpu_before
        # the fake server has been waited for: its whole life's CPU (start-up included)
        server_cpu = _cpu_seconds(resource.RUSAGE_CHILDREN)
        await engine.dispose()

    delivered = int(stats["distinct_chats"])
    lost = max(0, recipients - delivered)
    share = float(stats["rate"]) / limit
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"recipients={recipients} limit={limit:g}/s elapsed={elapsed:.1f}s "
        f"rate={stats['rate']:.1f}/s 429s={stats['rejected_429']} "
        f"(global {stats['rejected_global']}, per chat {stats['rejected_chat']}) "
        f"dispatcher_retry_after={dispatcher.stats.retry_after} "
        f"dispatcher_cpu={cpu:.1f}s ({1e6 * cpu / max(1, recipients):.0f} us/message) "
        f"fake_server_cpu={server_cpu:.1f}s"
    )
    if taps:
        print(tap_summary(latencies))
    duplicates = stats["duplicates"]
    print(f"share_of_limit={share:.3f} duplicates={duplicates} lost={lost} peak_mb={peak_mb:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=300)
    parser.add_argument("--limit", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, help="senders (default: the dispatcher's)")
    parser.add_argument(
        "--taps",
        type=float,
        metavar="SECONDS",
        help="a user taps a button this often during the broadcast: print the reply latency",
    )
    parser.add_argument("--verbose", action="store_true", help="print progress every second")
    args = parser.parse_args()
    asyncio.run(run(args.recipients, args.limit, args.concurrency, args.taps, args.verbose))


if __name__ == "__main__":
    main()
