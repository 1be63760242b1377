"""A ClickBook business behind the real bot: the fake ClickBook SOAP server, the Services built
from an ``AppConfig`` as production builds them, and the steps of a booking as a user takes them.

``clickbook_world(database_url, cache_dir)`` yields a :class:`ClickbookWorld` holding the fake
platform (with one customer account, ``EMAIL``, and one staff account, ``STAFF_EMAIL``) and the
Services; ``world.chat()`` runs the Telegram Application against the local Bot API.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bot.config import AppConfig, BusinessConfig
from bot.services import Services, build_services
from providers.base import utc_now
from providers.clickbook import ClickbookProvider
from storage import conversations
from storage.delivery_models import Delivery
from storage.models import Booking, Fiche
from tests.bot.harness import ChatDriver, running_bot
from tests.fakes.clickbook import API_KEY, FakeClickbook, settings_for

SLUG = "studio-zen"
BUSINESS_NAME = "Studio Zen"
KEY_ENV = "STUDIO_ZEN_CLICKBOOK_KEY"
EMAIL = "anna.martin@example.org"
PASSWORD = "Canary-Pa55word-c1ickbook-cust-5d2e"
STAFF_EMAIL = "maya@studio-zen.example"
STAFF_PASSWORD = "Canary-Pa55word-c1ickbook-staff-a9c4"
USER_ID = 42

SIGN_IN_SCREEN = "please sign in to your account with " + BUSINESS_NAME
PASSWORD_PROMPT = "Please type your password for"
WHO_PROMPT = "Who is this appointment for?"
CHECK_PROMPT = "Please check your booking"
BOOKED = "Booked!"


def clickbook_config(database_url: str, cache_dir: Path) -> AppConfig:
    settings = settings_for(cache_dir)
    settings["api_key_env"] = KEY_ENV
    return AppConfig(
        database_url=database_url,
        businesses=[
            BusinessConfig(
                slug=SLUG,
                name=BUSINESS_NAME,
                provider="clickbook",
                timezone="Europe/Paris",
                settings=settings,
            )
        ],
    )


@dataclass
class ClickbookWorld:
    """The fake platform and the bot's current Services, sharing one clock (the fake's: real
    time plus the offset a test moves with :meth:`advance`)."""

    fake: FakeClickbook
    config: AppConfig
    cache_dir: Path
    services: Services = field(init=False)
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def now(self) -> datetime:
        return utc_now() + self.fake.control.offset

    def advance(self, **delta: float) -> None:
        """Move the clock of both the fake and the bot."""
        self.fake.control.offset += timedelta(**delta)

    async def start(self) -> Services:
        """New Services (adapters, their in-memory ClickBook sessions, an HTTP client with an
        empty cookie jar) on the same database and fake platform: a process starting."""
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.fake), timeout=5.0)
        self.clients.append(http)
        self.services = await build_services(
            self.config, env={KEY_ENV: API_KEY}, http=http, clock=self.now
        )
        return self.services

    async def restart(self) -> Services:
        """Stop this "process" (no clean-up of conversations or intents) and start another."""
        await self.services.aclose()
        return await self.start()

    @property
    def provider(self) -> ClickbookProvider:
        provider = self.services.providers[SLUG]
        assert isinstance(provider, ClickbookProvider)
        return provider

    def chat(self, user_id: int = USER_ID) -> AbstractAsyncContextManager[ChatDriver]:
        return running_bot(self.services, user_id=user_id)

    async def state(self, user_id: int = USER_ID) -> dict[str, Any]:
        async with self.services.engine.connect() as connection:
            record = await conversations.load(connection, user_id, user_id)
        return record.data

    async def fiches(self) -> list[Fiche]:
        async with self.services.sessions() as session:
            return list(await session.scalars(select(Fiche).order_by(Fiche.id)))

    async def bookings(self) -> list[Booking]:
        async with self.services.sessions() as session:
            return list(await session.scalars(select(Booking).order_by(Booking.id)))

    async def notices(self) -> list[str]:
        """The texts of the notices queued in the outbox (what the sweep tells users)."""
        async with self.services.sessions() as session:
            payloads = await session.scalars(
                select(Delivery.payload).where(Delivery.kind == "notice").order_by(Delivery.id)
            )
            return [str(p["text"]) for p in payloads]


@asynccontextmanager
async def clickbook_world(
    database_url: str, cache_dir: Path, fake: FakeClickbook | None = None
) -> AsyncIterator[ClickbookWorld]:
    fake = fake or FakeClickbook()
    if EMAIL not in fake.world.accounts:
        fake.world.add_account(EMAIL, PASSWORD, first_name="Anna", last_name="Martin")
        fake.world.add_account(
            STAFF_EMAIL, STAFF_PASSWORD, first_name="Maya", last_name="Klein", user_type="Staff"
        )
    world = ClickbookWorld(
        fake=fake, config=clickbook_config(database_url, cache_dir), cache_dir=cache_dir
    )
    await world.start()
    try:
        yield world
    finally:
        await world.services.aclose()
        for http in world.clients:
            await http.aclose()


# -- the steps of a booking, as the user takes them ---------------------------------------------
async def choose_to_date(chat: ChatDriver) -> None:
    """From /book to the date picker: City centre, Massage, any staff member."""
    await chat.send("/book")
    assert "Where would you like to go?" in chat.text, chat.text
    await chat.press("City centre")
    assert "Which service would you like?" in chat.text
    await chat.press("Massage · 60 min · €55.00")
    assert "Who would you like to see?" in chat.text
    await chat.press("No preference")


async def choose_time(chat: ChatDriver) -> str:
    """From the date picker to the sign-in step; returns the time label tapped."""
    assert "Pick a day" in chat.text or "No free time this month" in chat.text, chat.text
    await chat.press("⚡ Earliest available")
    assert "Free times on" in chat.text, chat.text
    label = next(text for text in chat.labels if re.match(r"^\d{1,2}:\d{2}", text))
    await chat.press_first_time()
    return label


async def send_message(chat: ChatDriver, text: str) -> int:
    update = chat.updates.text(text)
    assert update.message is not None
    await chat.application.process_update(update)
    return update.message.message_id


async def sign_in(chat: ChatDriver, email: str = EMAIL, password: str = PASSWORD) -> int:
    """From the sign-in step through the password; returns the password message's id."""
    assert SIGN_IN_SCREEN in chat.text, chat.text
    await chat.press("I have an account")
    assert "Please type your email address." in chat.text
    await chat.send(email)
    assert PASSWORD_PROMPT in chat.text
    return await send_message(chat, password)


def deleted(chat: ChatDriver, message_id: int) -> bool:
    return any(c.params.get("message_id") == message_id for c in chat.calls("deleteMessage"))
