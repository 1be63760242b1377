"""A real dispatcher process killed with SIGKILL halfway through a broadcast, then restarted:
every recipient gets the message exactly once, except at most the few in flight at the kill."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from storage.delivery_models import Delivery
from tests.delivery.conftest import Db
from tests.delivery.test_dispatcher import new_broadcast
from tests.fakes.bot_api import TOKEN, FakeBotApi

ROOT = Path(__file__).resolve().parents[2]
RECIPIENTS = 2000
RATE = 250
CONCURRENCY = 8


def start_dispatcher(api: FakeBotApi, db: Db, *extra: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{api.port}",
        "PYTHONPATH": str(ROOT),
    }
    command = [
        sys.executable,
        "-m",
        "bot.delivery",
        "--database-url",
        db.url,
        "--rate",
        str(RATE),
        "--concurrency",
        str(CONCURRENCY),
        "--lease-seconds",
        "3",
        "--poll-seconds",
        "0.1",
        *extra,
    ]
    return subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.PIPE)  # noqa: S603


async def open_rows(db: Db) -> int:
    async with db.sessions() as s:
        return int(
            await s.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.status.in_(("pending", "sending")))
            )
            or 0
        )


async def test_sigkill_halfway_then_restart_delivers_everyone_once(sqlite_db: Db) -> None:
    salon = await sqlite_db.business("salon")
    recipients = range(10_000, 10_000 + RECIPIENTS)
    await sqlite_db.customers(salon, recipients)
    await new_broadcast(sqlite_db, salon, text="We are closed on Monday")
    with FakeBotApi(limit=1000) as api:
        first = start_dispatcher(api, sqlite_db)
        deadline = time.monotonic() + 60
        while api.state.accepted < RECIPIENTS // 2:
            assert first.poll() is None, first.stderr.read() if first.stderr else b""
            assert time.monotonic() < deadline, "the dispatcher made no progress"
            await asyncio.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        first.wait()
        at_kill = api.state.accepted
        assert at_kill < RECIPIENTS, "killed too late to prove anything"

        # The restarted dispatcher runs until nothing is due. Rows the killed one had leased are
        # not due until their lease (3 s) runs out, so "idle" may come before they are; a real
        # dispatcher keeps polling, which is what running it again until no row is open models.
        deadline = time.monotonic() + 90
        while True:
            second = start_dispatcher(api, sqlite_db, "--until-idle")
            try:
                second.wait(timeout=max(1.0, deadline - time.monotonic()))
            finally:
                if second.poll() is None:
                    second.kill()
            assert second.returncode == 0, second.stderr.read() if second.stderr else b""
            if await open_rows(sqlite_db) == 0 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)

    delivered = api.state.delivered_chats()
    assert set(recipients) <= delivered, f"lost: {len(set(recipients) - delivered)}"
    broadcast_copies = {
        chat: n for (chat, text), n in api.state.deliveries.items() if text.startswith("We are")
    }
    duplicates = sum(n - 1 for n in broadcast_copies.values())
    # only messages that were in flight (sent, answer not yet committed) may go twice
    print(f"killed after {at_kill} accepted; duplicates after restart: {duplicates}")
    # in flight = the senders plus results not yet committed (flushed every 0.1 s)
    assert duplicates <= CONCURRENCY + RATE // 10 + 5, duplicates
    assert await open_rows(sqlite_db) == 0
    async with sqlite_db.sessions() as s:
        sent = await s.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.status == "sent")
        )
    assert sent == RECIPIENTS + 1  # + the final report to the admin
