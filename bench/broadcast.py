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

import httpx
from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.delivery.broadcasts import start_broadcast  # noqa: E402
from bot.delivery.dispatcher import Dispatcher  # noqa: E402
from storage.db import create_engine, create_session_factory  # noqa: E402
from storage.delivery_models import Broadcast, Delivery  # noqa: E402
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


async def run(recipients: int, limit: float) -> None:
    from telegram import Bot
    from telegram.request import HTTPXRequest

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
            pool = 260
            bot = Bot(
                TOKEN,
                base_url=f"http://127.0.0.1:{port}/bot",
                request=HTTPXRequest(
                    connection_pool_size=pool, read_timeout=30, connect_timeout=10
                ),
            )
            async with bot, httpx.AsyncClient() as control:
                dispatcher = Dispatcher(sessions, bot, rate=limit, poll_interval=0.1)
                started = time.monotonic()
                task = asyncio.create_task(dispatcher.run(until_idle=True))
                while True:
                    await asyncio.sleep(1.0)
                    async with sessions() as s:
                        open_rows = await s.scalar(
                            select(func.count())
                            .select_from(Delivery)
                            .where(
                                Delivery.broadcast_id == broadcast_id,
                                Delivery.status.in_(("pending", "sending")),
                            )
                        )
                    if not open_rows:
                        break
                    if task.done():
                        task.result()
                        break
                # measured before the final report goes to the admin
                stats = (await control.get(f"http://127.0.0.1:{port}/control/stats")).json()
                await task
                elapsed = time.monotonic() - started
        await engine.dispose()

    delivered = int(stats["distinct_chats"])
    lost = max(0, recipients - delivered)
    share = float(stats["rate"]) / limit
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"recipients={recipients} limit={limit:g}/s elapsed={elapsed:.1f}s "
        f"rate={stats['rate']:.1f}/s 429s={stats['rejected_429']} "
        f"dispatcher_retry_after={dispatcher.stats.retry_after}"
    )
    duplicates = stats["duplicates"]
    print(f"share_of_limit={share:.3f} duplicates={duplicates} lost={lost} peak_mb={peak_mb:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=300)
    parser.add_argument("--limit", type=float, default=30.0)
    args = parser.parse_args()
    asyncio.run(run(args.recipients, args.limit))


if __name__ == "__main__":
    main()
