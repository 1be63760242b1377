"""A seeded, bounded fuzz of whole updates through the real Application, on SQLite and
PostgreSQL: texts, commands, contacts and callback data, well-formed and hostile (control and
invisible characters, lone surrogates, huge and non-ASCII ids, other users' bookings, stale,
mutated and forged buttons, taps without a message, group chats, edits), from a few users at
once, one of them an owner (the broadcast composer), mostly steered by the menus the bot just
showed so that the walks reach deep into the flows (bookings get made, moved, cancelled).

What must hold: no update raises (nothing reaches the error handler, no ERROR line), and every
callback query is answered. A failure names the seed and the step to replay it
(``BOOKBOT_FUZZ_SEED``, ``BOOKBOT_FUZZ_UPDATES`` choose another walk, or a longer one).
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import string
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select
from telegram import Update
from telegram.ext import Application

from bot.app import build_application
from bot.commands import COMMANDS
from bot.config import AppConfig
from bot.local_api import BOT_USER, LocalBotApi
from bot.services import Services, build_services
from storage.models import Booking, Business
from tests.storage.postgres import empty_database_url, postgres_url

__all__ = ["empty_database_url", "postgres_url"]  # fixtures, imported so pytest finds them

#: the seed and the number of updates per backend (enough to complete, move and cancel bookings
#: and reach the composer, a few seconds' work); the environment may ask for another walk
SEED = int(os.environ.get("BOOKBOT_FUZZ_SEED", "20261202"))
UPDATES = int(os.environ.get("BOOKBOT_FUZZ_UPDATES", "1500"))
OWNER = 7
USERS = (7, 42, 43)
GROUP_CHAT = {"id": -100555, "type": "supergroup", "title": "Fuzz"}

HOSTILE_TEXTS = [
    "",
    " ",
    "\x00",
    "Anna\x00",
    "anna\x00@example.org",
    "Mar\u202etin",
    "anna\u200b@example.org",
    "\ufeffAnna",
    "\ud800",
    "Anna\udfff",
    "x" * 5000,
    "é" * 4097,
    "'; DROP TABLE bookings; --",
    "{0} {__class__} {name!r} %s %n",
    "<b>bold</b> &amp; *md* _it_",
    "line\nbreak\r\nand\ttab",
    "مريم",
    "👨‍👩‍👧 🏳️‍🌈",
    "\u0301\u0301\u0301",
    "١٢٣٤",
    "2026-02-30",
    "31/12/1899",
    "+" + "9" * 40,
    "2026-12-01 2026-12-31",
    "2026-12-31 2026-12-01",
]
GOOD_TEXTS = [
    "Anna",
    "Martin",
    "Ñúñez-O’Brien",
    "+33612345678",
    "0612345678",
    "anna@example.org",
    "01/02/1990",
    "12 rue de la Paix, Paris",
    "Hello customers, we are open on Sunday!",
    "1",
    "yes",
]
SPECIAL_COMMANDS = [
    "/start sample-salon",
    "/start no-such-business",
    "/start \x00",
    "/start " + "s" * 300,
    "/book@OtherBot",
    "/book@bookbot_local_bot",
    "/BOOK",
    "/frobnicate",
    "/",
    "/ book",
    "/book\nsample-salon",
]
ID_SHAPES = ["0", "-1", "1", "2147483647", "2147483648", "9" * 19, "9" * 40, "١٢", "1\n", "", "x"]

#: what the newest question asks (words of its English text) -> an answer that fits
STEERING = [
    ("first name", "Anna"),
    ("last name", "Martin"),
    ("phone", "+33612345678"),
    ("email", "anna@example.org"),
    ("date of birth", "01/02/1990"),
    ("address", "12 rue de la Paix, Paris"),
    ("message to broadcast", "We are open on Sunday!"),
    ("two dates", "2026-01-01 2027-12-31"),
]
FILLER = {"", "·"}

_ids = itertools.count(1)


@dataclass
class Fuzzer:
    """Makes the updates and keeps what the checks need (which queries were sent)."""

    application: Application  # type: ignore[type-arg]
    api: LocalBotApi
    rng: random.Random
    booking_ids: list[int] = field(default_factory=list)
    business_ids: list[int] = field(default_factory=list)
    queries: set[str] = field(default_factory=set)

    # -- what the bot showed -------------------------------------------------------------
    def buttons_of(self, chat_id: int) -> tuple[int | None, list[tuple[str, str]]]:
        """The newest keyboard sent to ``chat_id``: its message id and (label, data) pairs."""
        for call in reversed(self.api.calls):
            markup = call.params.get("reply_markup")
            if (
                call.method in ("sendMessage", "editMessageText", "editMessageReplyMarkup")
                and call.params.get("chat_id") == chat_id
                and isinstance(markup, dict)
                and "inline_keyboard" in markup
            ):
                pairs = [
                    (b["text"], b.get("callback_data", ""))
                    for row in markup["inline_keyboard"]
                    for b in row
                ]
                return call.message_id or call.params.get("message_id"), pairs
        return None, []

    def menu_of(self, chat_id: int) -> tuple[int | None, list[str]]:
        message_id, pairs = self.buttons_of(chat_id)
        return message_id, [data for _, data in pairs]

    def last_text_to(self, chat_id: int) -> str:
        for call in reversed(self.api.sent()):
            if call.params.get("chat_id") == chat_id:
                return str(call.params.get("text", ""))
        return ""

    def steered(self, user_id: int) -> Update:
        """What a user going along would send: the answer the newest question asks for, or
        a tap on one of the newest menu's choices (not Back or Cancel)."""
        asked = self.last_text_to(user_id).lower()
        for words, answer in STEERING:
            if words in asked:
                return self.message(user_id, answer, plain=True)
        _, pairs = self.buttons_of(user_id)
        choices = [d for label, d in pairs if label.strip() not in FILLER and label[0] not in "«✖"]
        if not choices:
            return self.message(user_id, self.rng.choice(["/book", "/mybookings", "/broadcast"]))
        return self.tap(user_id, data=self.rng.choice(choices))

    def any_old_data(self) -> str:
        seen = [
            b.get("callback_data", "")
            for call in self.api.calls
            if isinstance(call.params.get("reply_markup"), dict)
            for row in call.params["reply_markup"].get("inline_keyboard", [])
            for b in row
        ]
        return self.rng.choice(seen) if seen else "c0.0"

    # -- random pieces -------------------------------------------------------------------
    def noise(self, limit: int = 70) -> str:
        alphabet = string.printable + "\x00\u202e\u200b\ufeff\u2066é中😀\ud800"
        return "".join(self.rng.choice(alphabet) for _ in range(self.rng.randint(0, limit)))

    def an_id(self) -> str:
        known = [str(i) for i in self.booking_ids + self.business_ids]
        return self.rng.choice(ID_SHAPES + known * 3) if known else self.rng.choice(ID_SHAPES)

    def user(self, user_id: int) -> dict[str, Any]:
        profile: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": "Anna",
            "language_code": "en",
        }
        roll = self.rng.random()
        if roll < 0.05:
            profile["first_name"] = self.noise(40) or "x"
        elif roll < 0.1:
            profile["language_code"] = self.rng.choice(["fr", "fr-CA", "", "x" * 40, "\x00"])
        elif roll < 0.12:
            del profile["language_code"]
        return profile

    # -- updates -------------------------------------------------------------------------
    def message(self, user_id: int, text: str, *, plain: bool = False, **extra: Any) -> Update:
        """A message from ``user_id``; now and then an edit or in a group (not when
        ``plain``)."""
        kind = "message"
        chat: dict[str, Any] = {"id": user_id, "type": "private"}
        roll = 1.0 if plain else self.rng.random()
        if roll < 0.04:
            kind = "edited_message"
            extra["edit_date"] = int(time.time())
        elif roll < 0.08:
            chat = GROUP_CHAT
        body: dict[str, Any] = {
            "message_id": next(_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self.user(user_id),
            **extra,
        }
        if "contact" not in extra:
            body["text"] = text
            if text.startswith("/") and len(text) > 1 and not text[1].isspace():
                length = len(text.split(maxsplit=1)[0])
                body["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return Update.de_json({"update_id": next(_ids), kind: body}, self.application.bot)

    def tap(self, user_id: int, data: str | None = None) -> Update:
        """A tap: on ``data``, or on a random button of the newest menu, an old or mutated
        one, a forged ``dr:``/``ds:``, or noise; now and then without its message or in a
        group."""
        message_id, menu = self.menu_of(user_id)
        roll = self.rng.random()
        if data is not None:
            pass
        elif menu and roll < 0.6:
            data = self.rng.choice(menu)  # a real button of the newest menu
        elif roll < 0.7:
            data = self.any_old_data()  # stale, or another user's
        elif roll < 0.8:
            prefix = self.rng.choice(["dr:y", "dr:r", "dr:c", "dr:C", "dr:k", "ds:r", "ds:n"])
            data = f"{prefix}:{self.an_id()}"
        elif roll < 0.88:
            version, index = self.rng.choice(ID_SHAPES), self.rng.choice(ID_SHAPES)
            data = f"c{version}.{index}"
        else:
            data = self.noise(64)
        query_id = str(next(_ids))
        self.queries.add(query_id)
        query: dict[str, Any] = {
            "id": query_id,
            "from": self.user(user_id),
            "chat_instance": "fuzz",
            "data": data,
        }
        where = self.rng.random()
        if where < 0.05:
            query["inline_message_id"] = "AAAAfuzz"
        else:
            keyboard = menu if self.rng.random() < 0.8 else [data]  # as Telegram repeats it
            query["message"] = {
                "message_id": message_id or self.rng.randint(1, 5000),
                "date": int(time.time()),
                "chat": GROUP_CHAT if where < 0.08 else {"id": user_id, "type": "private"},
                "from": BOT_USER,
                "text": "menu",
                "reply_markup": {
                    "inline_keyboard": [[{"text": "b", "callback_data": d}] for d in keyboard]
                },
            }
        return Update.de_json(
            {"update_id": next(_ids), "callback_query": query}, self.application.bot
        )

    def next_update(self) -> Update:
        user_id = self.rng.choice(USERS)
        if self.rng.random() < 0.55:
            return self.steered(user_id)
        roll = self.rng.random()
        if roll < 0.45:
            return self.tap(user_id)
        if roll < 0.65:
            return self.message(user_id, self.rng.choice(GOOD_TEXTS))
        if roll < 0.77:
            return self.message(user_id, "/" + self.rng.choice(COMMANDS).name)
        if roll < 0.82:
            return self.message(user_id, self.rng.choice(SPECIAL_COMMANDS))
        if roll < 0.92:
            return self.message(user_id, self.rng.choice(HOSTILE_TEXTS))
        if roll < 0.96:
            return self.message(user_id, self.noise())
        phone = self.rng.choice(["33612345678", "+33612345678", "12", self.noise(20)])
        contact = {"phone_number": phone, "first_name": "Anna", "user_id": user_id}
        return self.message(user_id, "", contact=contact)


@pytest.fixture
async def fuzz_services(
    sample_config: AppConfig, empty_database_url: str
) -> AsyncIterator[Services]:
    config = sample_config.model_copy(
        update={"database_url": empty_database_url, "owners": [OWNER]}
    )
    built = await build_services(config, env={})
    yield built
    await built.aclose()


async def _known_ids(services: Services, fuzzer: Fuzzer) -> None:
    async with services.sessions() as session:
        fuzzer.booking_ids = list(await session.scalars(select(Booking.id)))
        fuzzer.business_ids = list(await session.scalars(select(Business.id)))


async def test_random_updates_never_raise_and_every_tap_is_answered(
    fuzz_services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    api = LocalBotApi()
    application = build_application(fuzz_services, request=api, rate_limit=False, jobs=False)
    errors: list[str] = []

    async def remember(update: object, context: Any) -> None:
        errors.append(f"{type(context.error).__name__}: {context.error}")

    application.add_error_handler(remember)
    fuzzer = Fuzzer(application, api, random.Random(SEED))
    async with application:
        await _known_ids(fuzz_services, fuzzer)
        for step in range(UPDATES):
            update = fuzzer.next_update()
            await application.process_update(update)
            assert not errors, f"seed {SEED}, step {step}: {errors[0]} for {update.to_dict()}"
            if step % 50 == 0:
                await _known_ids(fuzz_services, fuzzer)
    answered = {
        str(c.params.get("callback_query_id"))
        for c in api.calls
        if c.method == "answerCallbackQuery"
    }
    unanswered = sorted(fuzzer.queries - answered)
    assert fuzzer.queries and not unanswered, f"seed {SEED}: taps never answered: {unanswered[:5]}"
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    # the walk went deep: bookings were made (the flows were reached, not only refusals)
    async with fuzz_services.sessions() as session:
        assert list(await session.scalars(select(Booking.id))), "no booking was completed"
