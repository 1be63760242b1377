"""Hostile and odd updates: edits, ids beyond the columns, text that must never be stored,
group chats, other bots' commands, forged callback data. Each runs on SQLite and PostgreSQL
where the database is what could break."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from telegram import Update

from bot.config import AppConfig
from bot.delivery.preferences import get_preference
from bot.local_api import BOT_USER
from bot.services import Services, build_services
from storage.models import Booking, Business, Conversation, Fiche, User
from tests.bot.harness import ChatDriver, running_bot
from tests.bot.test_local_booking import book_haircut
from tests.bot.test_local_robustness import reach_details, state_of
from tests.storage.postgres import empty_database_url, postgres_url

__all__ = ["empty_database_url", "postgres_url"]  # fixtures, imported so pytest finds them

_ids = itertools.count(100_000)
GROUP = {"id": -100123, "type": "supergroup", "title": "Neighbours"}


@pytest.fixture
async def any_services(
    sample_config: AppConfig, empty_database_url: str
) -> AsyncIterator[Services]:
    """The sample business's services on a SQLite file, then on PostgreSQL."""
    built = await build_services(
        sample_config.model_copy(update={"database_url": empty_database_url}), env={}
    )
    yield built
    await built.aclose()


def _user(chat: ChatDriver, **changes: Any) -> dict[str, Any]:
    return {**chat.updates.user, **changes}


def message_update(
    chat: ChatDriver,
    text: str,
    *,
    kind: str = "message",
    in_chat: dict[str, Any] | None = None,
    message_id: int | None = None,
    user: dict[str, Any] | None = None,
) -> Update:
    """A message (``kind`` "message", "edited_message"...) as Telegram sends it."""
    message: dict[str, Any] = {
        "message_id": message_id or next(_ids),
        "date": int(time.time()),
        "chat": in_chat or {"id": chat.user_id, "type": "private"},
        "from": user or chat.updates.user,
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    if kind.startswith("edited"):
        message["edit_date"] = int(time.time())
    return Update.de_json({"update_id": next(_ids), kind: message}, chat.application.bot)


def tap_update(
    chat: ChatDriver,
    data: str,
    *,
    in_chat: dict[str, Any] | None = None,
    message_id: int = 1,
    keyboard: list[str] | None = None,
    with_message: bool = True,
) -> Update:
    """A callback query; ``keyboard`` is the data of the tapped message's buttons (Telegram
    repeats them); without a message, it is an inline message's (``inline_message_id``)."""
    query: dict[str, Any] = {
        "id": str(next(_ids)),
        "from": chat.updates.user,
        "chat_instance": "hostile",
        "data": data,
    }
    if with_message:
        query["message"] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": in_chat or {"id": chat.user_id, "type": "private"},
            "from": BOT_USER,
            "text": "menu",
            "reply_markup": {
                "inline_keyboard": [[{"text": d, "callback_data": d}] for d in keyboard or []]
            },
        }
    else:
        query["inline_message_id"] = "AAAAinline"
    return Update.de_json({"update_id": next(_ids), "callback_query": query}, chat.application.bot)


def answered(chat: ChatDriver) -> list[str]:
    return [str(c.params.get("text", "")) for c in chat.calls("answerCallbackQuery")]


def shown(chat: ChatDriver) -> int:
    return len(chat.calls("sendMessage")) + len(chat.calls("editMessageText"))


# -- 5. edited messages ---------------------------------------------------------------------
async def test_an_edited_message_is_not_new_input(services: Services) -> None:
    async with running_bot(services) as chat:
        await reach_details(chat)
        await chat.send("Anna")  # first name; now at the last name
        before, sent = await state_of(services), shown(chat)
        for text in ("/cancel", "Anna", "anna@example.org"):
            await chat.application.process_update(
                message_update(chat, text, kind="edited_message", message_id=3)
            )
        assert shown(chat) == sent, "an edit gets no reply"
        assert await state_of(services) == before, "and changes nothing"
        await chat.send("Martin")
        assert "phone" in chat.text


# -- 6. ids beyond the integer columns ------------------------------------------------------
FORGED_IDS = [
    "dr:y:2147483648",
    "dr:C:9999999999",
    "dr:r:2147483647",
    "dr:y:0",
    "dr:y:١٢",
    "dr:y:12\n",
    "ds:r:2147483648",
    "ds:n:99999999999999999",
    "ds:r:0",
]


async def test_ids_beyond_int32_are_answered_never_an_error(
    any_services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with running_bot(any_services) as chat:
        await chat.send("/settings")
        for data in FORGED_IDS:
            # ds: data on a settings message that does carry it (the legacy form)
            keyboard = [data] if data.startswith("ds:") else None
            await chat.application.process_update(tap_update(chat, data, keyboard=keyboard))
        assert len(answered(chat)) == len(FORGED_IDS), "every tap is answered"
        assert set(answered(chat)) <= {
            "This menu has expired.",
            "This button is not for you.",
        }, answered(chat)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# -- 7. text that must never be stored ------------------------------------------------------
@pytest.mark.parametrize(
    ("answers", "code"),
    [
        (["Anna", "Martin", "+33612345678", "anna\x00@example.org"], "U+0000"),
        (["Anna", "Martin", "+33612345678", "anna\u200b@example.org"], "U+200B"),
        (["Anna", "Martin", "+33612345678", "anna@exam\ufeffple.org"], "U+FEFF"),
        (["Anna", "Mar\u202etin"], "U+202E"),
        (["Anna\u2066"], "U+2066"),
        (["Anna", "Martin", "+33612345678\u200e"], "U+200E"),
    ],
)
async def test_invisible_and_control_characters_are_refused_and_the_step_kept(
    any_services: Services, answers: list[str], code: str
) -> None:
    async with running_bot(any_services) as chat:
        await reach_details(chat)
        for answer in answers:
            await chat.send(answer)
        assert "invisible or control character" in chat.text and code in chat.text
        state = await state_of(any_services)
        kept = list(state["b"].get("cust", {}).values())
        assert len(kept) == len(answers) - 1, "the earlier answers are kept, this one is not"
        assert not any(ch in str(state) for ch in "\x00\u200b\ufeff\u202e\u2066\u200e"), (
            "nothing of it in the state"
        )


async def test_the_joiners_kept_for_names_are_still_refused_in_an_email(
    services: Services,
) -> None:
    """U+200C/U+200D pass the general check (Persian names, emoji); the email check refuses
    them, and the step is kept."""
    async with running_bot(services) as chat:
        await reach_details(chat)
        for answer in ("Anna", "Martin", "+33612345678", "anna\u200d@example.org"):
            await chat.send(answer)
        assert "does not look like an email address" in chat.text
        await chat.send("anna\u200c@example.org")
        assert "does not look like an email address" in chat.text
        state = await state_of(services)
        assert "email" not in state["b"].get("cust", {})


async def test_a_clean_answer_after_a_refusal_books(any_services: Services) -> None:
    async with running_bot(any_services) as chat:
        await reach_details(chat)
        for answer in ("Anna", "Martin", "+33612345678", "anna\x00@example.org"):
            await chat.send(answer)
        await chat.send("anna@example.org")
        await chat.press("✅ Confirm")
        assert "Booked!" in chat.text
    async with any_services.sessions() as session:
        fiche = (await session.scalars(select(Fiche))).one()
        assert fiche.email == "anna@example.org"


async def test_a_telegram_profile_with_controls_and_a_bad_language_is_stored_clean(
    any_services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with running_bot(any_services) as chat:
        profile = _user(chat, first_name="An\x00na\u202e", language_code="x" * 40 + "\x00")
        await chat.application.process_update(message_update(chat, "/start", user=profile))
        assert "Hello!" in chat.text
    async with any_services.sessions() as session:
        user = (await session.scalars(select(User))).one()
        assert (user.first_name, user.telegram_language) == ("Anna", None)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# -- 8. group chats -------------------------------------------------------------------------
async def test_in_a_group_nothing_personal_is_shown_and_the_private_chat_is_pointed_to(
    services: Services,
) -> None:
    async with running_bot(services) as chat:
        await book_haircut(chat)
        await chat.press("✅ Confirm")
        assert "Booked!" in chat.text
        before = len(chat.api.calls)
        for text in ("/mybookings", "/mydetails", "/book", "/mybookings@bookbot_local_bot"):
            await chat.application.process_update(message_update(chat, text, in_chat=GROUP))
        to_group = [c for c in chat.api.calls[before:] if c.params.get("chat_id") == GROUP["id"]]
        assert len(to_group) == 4 and all(c.method == "sendMessage" for c in to_group)
        for call in to_group:
            text = str(call.params["text"])
            assert "private chat" in text
            assert "Haircut" not in text and "Anna" not in text and "Martin" not in text
            button = call.params["reply_markup"]["inline_keyboard"][0][0]
            assert button["url"] == "https://t.me/bookbot_local_bot"
        # the group's talk, another bot's command and an edit get nothing
        for update in (
            message_update(chat, "hello all", in_chat=GROUP),
            message_update(chat, "/book@OtherBot", in_chat=GROUP),
            message_update(chat, "/book", in_chat=GROUP, kind="edited_message"),
        ):
            await chat.application.process_update(update)
        assert len(chat.api.calls) == before + 4
        # a tap on a message in the group is answered, pointing to the private chat
        await chat.application.process_update(tap_update(chat, "c1.0", in_chat=GROUP))
        assert "private chat" in answered(chat)[-1]
    async with services.sessions() as session:
        conversations = (await session.scalars(select(Conversation))).all()
        assert {c.chat_id for c in conversations} == {42}, "no conversation in the group"


# -- 9. other bots' commands, anchored patterns, taps without a message, forged ds: ---------
async def test_a_command_for_another_bot_is_ignored_and_ours_is_answered(
    services: Services,
) -> None:
    async with running_bot(services) as chat:
        await chat.send("/book@OtherBot")
        assert shown(chat) == 0
        await chat.send("/book@BookBot_Local_Bot")
        assert "Which service would you like?" in chat.text


async def test_callback_data_with_a_trailing_newline_matches_nothing(services: Services) -> None:
    async with running_bot(services) as chat:
        await chat.send("/book")
        haircut = chat.data_of("Haircut · 30 min · €25.00")
        await chat.tap(haircut + "\n")
        assert answered(chat)[-1] == "This menu has expired."
        assert "Who would you like to see?" not in chat.text
        await chat.press("Haircut · 30 min · €25.00")  # the menu shown again
        assert "Who would you like to see?" in chat.text


async def test_a_tap_without_a_message_is_answered(services: Services) -> None:
    async with running_bot(services) as chat:
        for data in ("c1.0", "dr:y:1", "ds:r:1", "anything"):
            await chat.application.process_update(tap_update(chat, data, with_message=False))
        assert answered(chat) == ["This menu has expired."] * 4
        assert shown(chat) == 0


async def test_a_forged_settings_toggle_changes_nothing(services: Services) -> None:
    async with running_bot(services) as chat:
        await chat.send("/book")
        menu_id = chat.api.last_menu_message_id() or 1
        menu = [data for _, data in chat.api.last_buttons()]
        async with services.sessions() as session:
            business_id = (await session.scalars(select(Business.id))).one()
            before = await get_preference(session, 42, business_id)
        sent = shown(chat)
        forged = f"ds:r:{business_id}"
        await chat.application.process_update(
            tap_update(chat, forged, message_id=menu_id, keyboard=menu)
        )
        assert answered(chat)[-1] == "This menu has expired."
        assert shown(chat) == sent, "the booking menu is not rewritten"
        async with services.sessions() as session:
            assert await get_preference(session, 42, business_id) == before
        # the menu still works
        await chat.press("Haircut · 30 min · €25.00")
        assert "Who would you like to see?" in chat.text
    async with services.sessions() as session:
        assert not (await session.scalars(select(Booking))).all()
