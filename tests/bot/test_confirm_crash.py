"""A bot process killed with SIGKILL inside Confirm, on SQLite and PostgreSQL: no orphan
appointment, no double booking, and the user is told the outcome when they come back (and
through the outbox, by the sweep that runs after a restart).

The process is real (``tests/bot/confirm_crash_driver.py``); the window is widened
deterministically by a pause the driver installs where the kill must land, so every run kills
inside it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import func, select

from storage.db import create_engine
from storage.intent_models import PENDING, BookingIntent
from storage.models import Booking, LocalAppointment
from tests.bot import qmatic_world
from tests.fakes.qmatic import FakeClock, QmaticFake
from tests.storage.postgres import postgres_url

__all__ = ["postgres_url"]  # the fixture, imported so pytest finds it here

ROOT = Path(__file__).resolve().parents[2]


def driver(database_url: str, work: Path, *args: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tests.bot.confirm_crash_driver", database_url, str(work)]
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [*command, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def kill_inside_confirm(database_url: str, work: Path, point: str) -> None:
    process = driver(database_url, work, "confirm", point)
    deadline = time.monotonic() + 120
    try:
        while not (work / "paused").exists():
            if process.poll() is not None:
                raise AssertionError(process.stderr.read().decode() if process.stderr else "")
            assert time.monotonic() < deadline, "the driver never reached Confirm"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def come_back(database_url: str, work: Path) -> dict[str, list[str]]:
    process = driver(database_url, work, "return")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode()
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


async def counts(database_url: str) -> tuple[int, int, int]:
    """Local appointments, our booking rows, and intents still pending."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            appointments = await connection.scalar(
                select(func.count()).select_from(LocalAppointment)
            )
            bookings = await connection.scalar(select(func.count()).select_from(Booking))
            pending = await connection.scalar(
                select(func.count())
                .select_from(BookingIntent)
                .where(BookingIntent.status == PENDING)
            )
            return int(appointments or 0), int(bookings or 0), int(pending or 0)
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def crash_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'bookbot.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.mark.parametrize(
    ("point", "outcome"),
    [
        ("inside", "Your last confirmation did not go through: nothing was booked."),
        ("after", "✅ Your last confirmation went through: Haircut on"),
    ],
)
async def test_sigkill_inside_confirm_leaves_no_orphan_and_the_user_is_told(
    crash_database_url: str, tmp_path: Path, point: str, outcome: str
) -> None:
    kill_inside_confirm(crash_database_url, tmp_path, point)
    appointments, bookings, pending = await counts(crash_database_url)
    assert appointments == bookings, f"{appointments - bookings} orphan appointment(s)"
    # recorded before the platform was called; settled with the booking if that committed
    assert pending == (1 if point == "inside" else 0)

    seen = come_back(crash_database_url, tmp_path)
    told = seen["outbox"] + seen["texts"]
    assert any(outcome in text for text in told), told
    assert len([text for text in seen["outbox"] if outcome in text]) == 1, "told once, by the sweep"
    assert not any(outcome in text for text in seen["texts"]), "and not again in the chat"
    assert "Booked!" in " ".join(seen["texts"]) or point == "after"
    assert "Haircut" in seen["texts"][-1], "/mybookings shows the one booking"
    appointments, bookings, pending = await counts(crash_database_url)
    assert (appointments, bookings, pending) == (1, 1, 0), "one booking, mirrored, settled"


# -- a remote platform: the appointment is made, the answer never reaches the bot -------------
class WithheldConfirmAnswer:
    """The Qmatic fake, except that it books on a reservation's confirmation (``PUT
    /reservations/{id}``) and then withholds the answer: the bot is killed waiting for it."""

    def __init__(self, fake: QmaticFake) -> None:
        self.fake = fake
        self.withheld = threading.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        confirming = (
            scope["type"] == "http"
            and scope["method"] == "PUT"
            and "/reservations/" in scope["path"]
        )
        if not confirming:
            await self.fake(scope, receive, send)
            return

        async def swallow(_message: Any) -> None:
            return None

        await self.fake(scope, receive, swallow)
        self.withheld.set()
        await asyncio.sleep(60)  # the bot dies first; the server's shutdown cancels this


@contextmanager
def served(app: Any) -> Iterator[int]:
    """``app`` on 127.0.0.1 in a thread; yields the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the fake did not start"
        time.sleep(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


async def remote_counts(database_url: str) -> tuple[int, int]:
    """Our booking rows, and intents still pending."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            bookings = await connection.scalar(select(func.count()).select_from(Booking))
            pending = await connection.scalar(
                select(func.count())
                .select_from(BookingIntent)
                .where(BookingIntent.status == PENDING)
            )
            return int(bookings or 0), int(pending or 0)
    finally:
        await engine.dispose()


async def test_sigkill_while_qmatic_answers_is_looked_up_after_the_restart(
    crash_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = QmaticFake(
        clock=FakeClock(datetime.now(UTC)),
        client_id=qmatic_world.CLIENT_ID,
        client_secret=qmatic_world.CLIENT_SECRET,
        services=[qmatic_world.permit_service()],
        groups=[],
        supported_languages=("en_US", "fr_FR"),
    )
    withholding = WithheldConfirmAnswer(fake)
    with served(withholding) as port:
        monkeypatch.setenv("CRASH_QMATIC_URL", f"http://127.0.0.1:{port}")
        process = driver(crash_database_url, tmp_path, "confirm", "")
        try:
            assert await asyncio.to_thread(withholding.withheld.wait, 120), "never confirmed"
            process.send_signal(signal.SIGKILL)
        finally:
            process.wait(timeout=30)
        assert len(fake.active_appointments()) == 1, "the platform booked it"
        assert await remote_counts(crash_database_url) == (0, 1), "pending, not yet mirrored"

        seen = come_back(crash_database_url, tmp_path)
    outcome = "✅ Your last confirmation went through: Residence permit on"
    assert [text for text in seen["outbox"] if outcome in text], seen
    assert "Residence permit" in seen["texts"][-1], "/mybookings shows it"
    assert len(fake.active_appointments()) == 1, "not booked twice"
    assert await remote_counts(crash_database_url) == (1, 0), "mirrored and settled"
