"""A ClicRDV business behind the real bot: the fake ClicRDV API, the Services built from an
``AppConfig`` as production builds them, and the steps of a booking as a user takes them.

``clicrdv_world(database_url, service_first=...)`` yields a :class:`ClicrdvWorld` holding the fake
platform (with one account, ``EMAIL``, that already has one fiche, ``Léa Martin``) and the
Services; ``world.chat()`` runs the Telegram Application against the local Bot API. The helpers
below walk a chat through the booking steps; each asserts the screen it expects first, so a test
that goes astray fails where it strays.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from bot.config import AppConfig, BusinessConfig
from bot.services import Services, build_services
from providers.clicrdv import ClicrdvProvider
from tests.bot.harness import ChatDriver, running_bot
from tests.bot.signed_in_steps import (
    BOOKED,
    CHECK_PROMPT,
    PASSWORD_PROMPT,
    WHO_PROMPT,
    choose_time,
    send_message,
    sign_in_at,
)
from tests.bot.stored_records import USER_ID, StoredRecords
from tests.fakes.clicrdv import (
    API_KEY,
    FakeAccount,
    FakeClicrdv,
    FakeFiche,
    build_fake,
)

SLUG = "salon-clic"
BUSINESS_NAME = "Salon Clic"
#: The environment variable the configuration names for the API key (its value: the fake's key).
KEY_ENV = "SALON_CLIC_API_KEY"
EMAIL = "anna.martin@example.org"
PASSWORD = "the-right-password"

#: The existing fiche of the account: a child the parent books for.
CHILD = {
    "firstname": "Léa",
    "lastname": "Martin",
    "firstphone": "0612345678",
    "email": EMAIL,
    "birthdate": "2016-05-04",
}
CHILD_BUTTON = "Book for Léa Martin"
#: What the user types to create a new fiche.
NEW_PERSON = {
    "first_name": "Hugo",
    "last_name": "Martin",
    "phone": "+33 6 98 76 54 32",
    "email": "hugo.martin@example.org",
    "label": "my son",
}

SIGN_IN_SCREEN = "please sign in to your account with " + BUSINESS_NAME


def clicrdv_config(database_url: str, group_id: int) -> AppConfig:
    """One business on ClicRDV, configured as an operator would write it in the TOML file."""
    return AppConfig(
        database_url=database_url,
        businesses=[
            BusinessConfig(
                slug=SLUG,
                name=BUSINESS_NAME,
                provider="clicrdv",
                timezone="Europe/Paris",
                settings={
                    "group_id": group_id,
                    "base_url": "https://sandbox.clicrdv.test",
                    "api_key_env": KEY_ENV,
                    "catalog_ttl_seconds": 300,
                },
            )
        ],
    )


@dataclass
class ClicrdvWorld(StoredRecords):
    fake: FakeClicrdv
    services: Services
    account: FakeAccount
    child: FakeFiche

    @property
    def provider(self) -> ClicrdvProvider:
        provider = self.services.providers[SLUG]
        assert isinstance(provider, ClicrdvProvider)
        return provider

    def chat(self) -> AbstractAsyncContextManager[ChatDriver]:
        """``async with world.chat() as chat``: the Application with the local Bot API."""
        return running_bot(self.services, user_id=USER_ID)

    def posts(self) -> int:
        """Appointment creations the platform received."""
        return self.fake.count("/appointments.json", "POST")

    def posted_appointments(self) -> list[dict[str, Any]]:
        """The appointments the platform was asked to create, as sent."""
        return [
            json.loads(r.body)["appointment"]
            for r in self.fake.requests
            if r.method == "POST" and r.path.endswith("/appointments.json")
        ]


@asynccontextmanager
async def clicrdv_world(
    database_url: str, *, service_first: bool = True, password: str = PASSWORD
) -> AsyncIterator[ClicrdvWorld]:
    """The fake platform (whose account has ``password``) and the Services built from
    configuration, closed afterwards."""
    fake = build_fake(service_first=service_first)
    account = fake.add_account(EMAIL, password, firstname="Anna", lastname="Martin")
    child = fake.add_fiche(account, **CHILD)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=fake), timeout=5.0)
    services = await build_services(
        clicrdv_config(database_url, fake.group.id), env={KEY_ENV: API_KEY}, http=http
    )
    try:
        yield ClicrdvWorld(fake=fake, services=services, account=account, child=child)
    finally:
        await services.aclose()
        await http.aclose()


# -- the steps of a booking, as the user takes them ---------------------------------------------
async def choose_service_and_calendar(chat: ChatDriver, *, service_first: bool) -> None:
    """From /book to the date picker: Cut with Bob, in the order the group's settings ask."""
    await chat.send("/book")
    if service_first:
        assert "Which service would you like?" in chat.text
        await chat.press("Cut · 30 min · €25.00")
        assert "Who would you like to see?" in chat.text
        await chat.press("Bob")
    else:
        assert "Who would you like to see?" in chat.text
        await chat.press("Bob")
        assert "Which service would you like?" in chat.text
        # Bob does not do colouring: the calendar chosen first narrows the services.
        assert not any(label.startswith("Colour") for label in chat.labels)
        await chat.press("Cut · 30 min · €25.00")


async def sign_in(chat: ChatDriver, password: str = PASSWORD) -> int:
    """From the sign-in step through the password; returns the password message's id."""
    return await sign_in_at(chat, SIGN_IN_SCREEN, EMAIL, password)


async def book_for_child(chat: ChatDriver) -> None:
    """At "who is this for?": the existing fiche, then confirm."""
    assert WHO_PROMPT in chat.text
    await chat.press(CHILD_BUTTON)
    # The fiche holds every detail the booking needs: nothing more is asked.
    assert CHECK_PROMPT in chat.text and "Léa Martin" in chat.text
    await chat.press("✅ Confirm")


async def book_for_someone_new(chat: ChatDriver) -> None:
    """At "who is this for?": a new person, typed field by field, then confirm."""
    assert WHO_PROMPT in chat.text
    await chat.press("➕ Someone else")
    await enter_new_person(chat)
    assert CHECK_PROMPT in chat.text and "Hugo Martin" in chat.text
    await chat.press("✅ Confirm")


async def enter_new_person(chat: ChatDriver) -> None:
    assert "first name" in chat.text
    await chat.send(NEW_PERSON["first_name"])
    assert "last name" in chat.text
    await chat.send(NEW_PERSON["last_name"])
    await chat.send(NEW_PERSON["phone"])
    assert "email address" in chat.text
    await chat.send(NEW_PERSON["email"])
    assert "date of birth" in chat.text
    await chat.send("03/04/2015")
    assert "Who is this person to you?" in chat.text
    await chat.send(NEW_PERSON["label"])


async def book_to_confirm_screen(chat: ChatDriver, *, service_first: bool = True) -> str:
    """A whole booking for the existing fiche, up to (not including) Confirm."""
    await choose_service_and_calendar(chat, service_first=service_first)
    label = await choose_time(chat)
    await sign_in(chat)
    assert WHO_PROMPT in chat.text
    await chat.press(CHILD_BUTTON)
    assert CHECK_PROMPT in chat.text
    return label


async def finish_booking(chat: ChatDriver, *, password: str = PASSWORD) -> list[str]:
    """From wherever the booking is, take the obvious way to a confirmed booking: the earliest
    time, the account's existing fiche, a fresh email if one is asked. Returns the screens
    passed (their first line), so a test can say which steps the user had to go through."""
    passed: list[str] = []
    for _ in range(16):
        text = chat.text
        passed.append(text.splitlines()[0] if text else "")
        if BOOKED in text:
            return passed
        if CHECK_PROMPT in text:
            await chat.press("✅ Confirm")
        elif "Pick a day" in text or "No free time this month" in text:
            await chat.press("⚡ Earliest available")
        elif "Free times on" in text:
            await chat.press_first_time()
        elif SIGN_IN_SCREEN in text:
            await chat.press("I have an account")
        elif "Please type your email address." in text:
            await chat.send(EMAIL)
        elif PASSWORD_PROMPT in text:
            await send_message(chat, password)
        elif WHO_PROMPT in text:
            await chat.press(CHILD_BUTTON)
        elif "email address for the confirmation" in text:
            await chat.send("lea.martin@example.org")
        else:
            raise AssertionError(f"unexpected screen: {text!r}")
    raise AssertionError(f"the booking did not finish: {passed}")
