"""A bot whose one business books on the fake bookingtime platform, for conversation tests.

``bookingtime_world(database_url)`` builds the real :class:`~bot.services.Services` with
:func:`~bot.services.build_services` from an :class:`~bot.config.AppConfig` naming one
``provider = "bookingtime"`` business, the client id passed only through ``env`` (a canary value
the tests search for afterwards), every HTTP request answered in process by the fake, and the
fake's clock as the bot's clock (so tokens expire and the booking window moves together).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from starlette.responses import Response

from bot.config import AppConfig, BusinessConfig
from bot.services import Services, build_services
from providers.bookingtime import BookingtimeProvider
from tests.bot.harness import ChatDriver
from tests.bot.stored_records import StoredRecords
from tests.fakes.bookingtime import (
    CLIENT_ID_ENV,
    FakeBookingtime,
    RecordedRequest,
    fake_http_client,
    settings_for,
)
from tests.fakes.bookingtime import app as fake_app
from tests.fakes.bookingtime.state import Appointment, FakeTemplate

#: The module's client id: a value that must never leave the adapter's memory.
CANARY_CLIENT_ID = "canaryCLIENTid7x9q2w4e6r8t0y1u3i"
SLUG = "salon"
BUSINESS_NAME = "Salon Mitte"
TIMEZONE = "Europe/Berlin"
#: How the service buttons read (the fake's default templates, in English).
HAIRCUT = "Haircut · 30 min · €25.00"
CONSULTATION = "Consultation · 60 min"
#: Read timeout of the HTTP client: short, so "the platform is slow" tests stay quick.
HTTP_TIMEOUT = 0.2


@dataclass
class BookingtimeWorld(StoredRecords):
    fake: FakeBookingtime
    services: Services
    database_path: Path

    @property
    def provider(self) -> BookingtimeProvider:
        provider = self.services.providers[SLUG]
        assert isinstance(provider, BookingtimeProvider)
        return provider

    @property
    def haircut(self) -> FakeTemplate:
        return next(t for t in self.fake.organization.templates.values() if not t.choice)

    @property
    def consultation(self) -> FakeTemplate:
        return next(t for t in self.fake.organization.templates.values() if t.choice)

    # -- what the platform saw and holds ------------------------------------------------------
    def requests(self, method: str, path_contains: str) -> list[RecordedRequest]:
        return [r for r in self.fake.requests(path_contains) if r.method == method]

    def add_requests(self) -> list[RecordedRequest]:
        return self.requests("POST", "appointment/add")

    def appointments(self) -> list[Appointment]:
        return list(self.fake.organization.appointments.values())

    def secrets(self) -> list[str]:
        """Every credential in play: the client id and every token the fake issued."""
        return [CANARY_CLIENT_ID, *self.fake.issued()]

    # -- what we stored -----------------------------------------------------------------------
    async def conversation_state(self) -> str:
        """Every stored conversation's JSON state, as text."""
        async with self.services.sessions() as session:
            rows = (await session.execute(text("SELECT data FROM conversations"))).all()
        return "\n".join(str(row[0]) for row in rows)

    async def every_table(self) -> str:
        """Every row of every table, as text (what a database dump would show)."""
        async with self.services.sessions() as session:
            names = [
                row[0]
                for row in (
                    await session.execute(
                        text("SELECT name FROM sqlite_master WHERE type = 'table'")
                    )
                ).all()
            ]
            dumped: list[str] = []
            for name in names:
                rows = (await session.execute(text(f'SELECT * FROM "{name}"'))).all()  # noqa: S608
                dumped.extend(f"{name}: {tuple(row)}" for row in rows)
        return "\n".join(dumped)

    def database_files(self) -> dict[str, bytes]:
        """The raw bytes of the SQLite file and its WAL and shared-memory companions."""
        files: dict[str, bytes] = {}
        for suffix in ("", "-wal", "-shm", "-journal"):
            path = Path(f"{self.database_path}{suffix}")
            if path.exists():
                files[path.name] = path.read_bytes()
        return files

    # -- platform rules the fake does not have by default -----------------------------------
    def refuse_emails(
        self,
        monkeypatch: pytest.MonkeyPatch,
        pattern: str,
        text: str = "Disposable email addresses are not accepted.",
    ) -> None:
        """Make the platform refuse customer emails matching ``pattern`` (as it refuses any
        invalid detail: a 400 failure naming the ``email`` parameter), on top of its own
        checks. The bot's own email check accepts such addresses."""
        original: Callable[[FakeTemplate, dict[str, Any]], Response | None] = (
            fake_app.validate_customer
        )

        def stricter(template: FakeTemplate, customer: dict[str, Any]) -> Response | None:
            if re.search(pattern, str(customer.get("email") or "")):
                return fake_app.failure(400, text, "email")
            return original(template, customer)

        monkeypatch.setattr(fake_app, "validate_customer", stricter)


def business_config(fake: FakeBookingtime) -> BusinessConfig:
    """A bookingtime business as the TOML file would declare it: organization id and the NAME
    of the environment variable holding the client id, never the id itself."""
    return BusinessConfig(
        slug=SLUG,
        name=BUSINESS_NAME,
        provider="bookingtime",
        timezone=TIMEZONE,
        settings=settings_for(fake),
    )


@asynccontextmanager
async def bookingtime_world(
    database_url: str, *, fake: FakeBookingtime | None = None, idle_minutes: int = 30
) -> AsyncIterator[BookingtimeWorld]:
    """The bot's services wired to a fresh fake bookingtime (client id: the canary).

    ``idle_minutes`` is how long a conversation may rest; raise it to let the fake's clock run
    past a refresh token's lifetime (30 min) in the middle of a booking.
    """
    fake = fake or FakeBookingtime(client_id=CANARY_CLIENT_ID)
    config = AppConfig(
        database_url=database_url,
        conversation_idle_minutes=idle_minutes,
        businesses=[business_config(fake)],
    )
    database = make_url(database_url).database
    assert database, "the conversation tests need a file database"
    async with fake_http_client(fake, timeout=HTTP_TIMEOUT) as http:
        services = await build_services(
            config, env={CLIENT_ID_ENV: CANARY_CLIENT_ID}, http=http, clock=fake.clock
        )
        try:
            yield BookingtimeWorld(fake, services, Path(database))
        finally:
            await services.aclose()


# -- driving the conversation -------------------------------------------------------------------


def time_label(shown: str) -> str:
    """A slot button's label as English shows it: ``"10:00 AM"`` -> ``"10:00\u202fAM"``."""
    return shown.replace(" ", "\u202f")


async def choose_haircut_slot(chat: ChatDriver, day: str = "6", time: str = "10:00 AM") -> None:
    """From ``/book`` to the customer step: Haircut, ``day`` of the month shown, ``time``."""
    await chat.send("/book")
    await chat.press(HAIRCUT)
    await chat.press(day)
    await chat.press(time_label(time))


async def enter_details(
    chat: ChatDriver,
    first_name: str = "Ada",
    last_name: str = "Lovelace",
    email: str = "ada@example.org",
) -> None:
    """Answer the Haircut template's customer form (names and email, nothing else)."""
    await chat.send(first_name)
    await chat.send(last_name)
    await chat.send(email)


__all__ = [
    "BUSINESS_NAME",
    "CANARY_CLIENT_ID",
    "CONSULTATION",
    "HAIRCUT",
    "SLUG",
    "BookingtimeWorld",
    "bookingtime_world",
    "choose_haircut_slot",
    "enter_details",
    "time_label",
]
