"""A ClickBook business behind the real bot: the fake ClickBook SOAP server, the Services built
from an ``AppConfig`` as production builds them, and the steps of a booking as a user takes them.

``clickbook_world(database_url, cache_dir)`` yields a :class:`ClickbookWorld` holding the fake
platform (with one customer account, ``EMAIL``, and one staff account, ``STAFF_EMAIL``) and the
Services; ``world.chat()`` runs the Telegram Application against the local Bot API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from bot.config import AppConfig, BusinessConfig
from bot.services import Services, build_services
from providers.base import utc_now
from providers.clickbook import ClickbookProvider
from tests.bot.harness import ChatDriver, running_bot
from tests.bot.signed_in_steps import (
    BOOKED,
    CHECK_PROMPT,
    choose_time,
    send_message,
    sign_in_at,
)
from tests.bot.stored_records import USER_ID, StoredRecords
from tests.fakes.clickbook import API_KEY, FakeClickbook, settings_for

SLUG = "studio-zen"
BUSINESS_NAME = "Studio Zen"
KEY_ENV = "STUDIO_ZEN_CLICKBOOK_KEY"
EMAIL = "anna.martin@example.org"
PASSWORD = "Canary-Pa55word-c1ickbook-cust-5d2e"
STAFF_EMAIL = "maya@studio-zen.example"
STAFF_PASSWORD = "Canary-Pa55word-c1ickbook-staff-a9c4"

SIGN_IN_SCREEN = "please sign in to your account with " + BUSINESS_NAME
#: The client a staff member books for (a new client file).
CLIENT = {
    "first": "Chloé",
    "last": "Petit",
    "phone": "+33 6 55 44 33 22",
    "email": "chloe@example.org",
}


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
class ClickbookWorld(StoredRecords):
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


async def sign_in(chat: ChatDriver, email: str = EMAIL, password: str = PASSWORD) -> int:
    """From the sign-in step through the password; returns the password message's id."""
    return await sign_in_at(chat, SIGN_IN_SCREEN, email, password)


def deleted(chat: ChatDriver, message_id: int) -> bool:
    return any(c.params.get("message_id") == message_id for c in chat.calls("deleteMessage"))


async def to_confirm(chat: ChatDriver) -> str:
    """From /book to the check screen as the customer Anna (signed in, booking for herself);
    returns the time label tapped."""
    await choose_to_date(chat)
    label = await choose_time(chat)
    await sign_in(chat)
    await chat.press("Book for Anna Martin")
    assert CHECK_PROMPT in chat.text
    return label


async def book_as_customer(chat: ChatDriver) -> str:
    """:func:`to_confirm`, then Confirm: Anna's booking is made; returns the time label."""
    label = await to_confirm(chat)
    await chat.press("✅ Confirm")
    assert BOOKED in chat.text, chat.text
    return label


async def type_client(chat: ChatDriver) -> None:
    """At the customer details step of a staff member: :data:`CLIENT`'s details."""
    assert "first name" in chat.text, chat.text
    await chat.send(CLIENT["first"])
    await chat.send(CLIENT["last"])
    await chat.send(CLIENT["phone"])
    assert "email address" in chat.text
    await chat.send(CLIENT["email"])


async def staff_to_confirm(chat: ChatDriver) -> None:
    """From /book to the Confirm of the staff member booking for :data:`CLIENT`."""
    await choose_to_date(chat)
    await choose_time(chat)
    await sign_in(chat, STAFF_EMAIL, STAFF_PASSWORD)
    await type_client(chat)


async def register(
    chat: ChatDriver, email: str, first: str, last: str, phone: str, password: str
) -> None:
    """At the sign-in step: create an account (Paris time, France, terms agreed) with
    ``password`` typed twice."""
    await chat.press("Create an account")
    await chat.send(email)
    for answer in (first, last, phone):
        await chat.send(answer)
    await chat.press("(GMT+01:00) Paris")
    await chat.press("France")
    await chat.press("I agree")
    await send_message(chat, password)
    await send_message(chat, password)
