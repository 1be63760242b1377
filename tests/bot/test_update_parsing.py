"""bot/update_parsing.py builds exactly the objects python-telegram-bot's own parser builds.

Every comparison walks the two object trees slot by slot (types, values, the bot each object
holds, ``api_kwargs``, the frozen flag), so a python-telegram-bot release that converts one of
the fields differently fails here."""

from __future__ import annotations

import copy
import inspect
import random
from collections.abc import Iterator
from datetime import timedelta, timezone
from types import MappingProxyType
from typing import Any

import pytest
from telegram import Bot, CallbackQuery, Message, TelegramObject, Update, User
from telegram.ext import Defaults, ExtBot

from bot import update_parsing
from bot.update_parsing import parse_update

BOT = Bot("123456:local-test-token")
#: python-telegram-bot's own parser, as bot.update_parsing kept it before any install()
ptb_parse = update_parsing._ORIGINAL_DE_JSON.__get__(None, Update)
assert ptb_parse.__func__.__module__ == "telegram._update"  # type: ignore[attr-defined]

ANNA = {"id": 42, "is_bot": False, "first_name": "Anna", "language_code": "fr"}
CHAT = {"id": 42, "type": "private", "first_name": "Anna"}
THE_BOT = {"id": 123456, "is_bot": True, "first_name": "Bookbot", "username": "bookbot_bot"}
MENU = {
    "inline_keyboard": [
        [{"text": "« Mar", "callback_data": "p1"}, {"text": "Apr »", "callback_data": "n1"}],
        [{"text": str(day), "callback_data": f"d{day}"} for day in range(1, 8)],
        [{"text": "Website", "url": "https://example.org"}],
    ]
}


def message(**fields: Any) -> dict[str, Any]:
    return {"message_id": 7, "date": 1_790_000_000, "chat": CHAT, "from": ANNA, **fields}


def tap(**message_fields: Any) -> dict[str, Any]:
    return {
        "update_id": 9,
        "callback_query": {
            "id": "4382bfdwdsb323b2d9",
            "from": ANNA,
            "chat_instance": "-88341",
            "data": "d3",
            "message": {**message(**message_fields), "from": THE_BOT},
        },
    }


#: The updates a booking bot receives, as Telegram sends them: all take the fast path.
COMMON = {
    "command": {
        "update_id": 1,
        "message": message(
            text="/start salon-paris", entities=[{"type": "bot_command", "offset": 0, "length": 6}]
        ),
    },
    "text": {"update_id": 2, "message": message(text="Anna-Maria ✨ عائشة")},
    "contact": {
        "update_id": 3,
        "message": message(
            contact={"phone_number": "+33612345678", "first_name": "Anna", "user_id": 42}
        ),
    },
    "tap on a bare message": tap(text="Pick a day"),
    "tap on a menu (as Telegram sends it)": tap(text="Pick a day", reply_markup=MENU),
    "edited message": {
        "update_id": 5,
        "edited_message": message(text="Martin", edit_date=1_790_000_060),
    },
    "entities with a mentioned user": {
        "update_id": 6,
        "message": message(
            text="for Anna please",
            entities=[
                {"type": "text_mention", "offset": 4, "length": 4, "user": ANNA},
                {"type": "text_link", "offset": 9, "length": 6, "url": "https://example.org"},
            ],
        ),
    },
    "a user with every flag": {
        "update_id": 7,
        "message": message(
            text="hi",
            **{
                "from": {
                    **ANNA,
                    "last_name": "Martin",
                    "username": "anna",
                    "is_premium": True,
                    "added_to_attachment_menu": True,
                }
            },
        ),
    },
}

#: Shapes the fast path leaves to python-telegram-bot (and what makes each unusual).
UNUSUAL = {
    "a photo": {
        "update_id": 1,
        "message": message(
            photo=[{"file_id": "a", "file_unique_id": "b", "width": 1, "height": 1}]
        ),
    },
    "an inline query": {
        "update_id": 2,
        "inline_query": {"id": "1", "from": ANNA, "query": "x", "offset": ""},
    },
    "an inaccessible message (date 0)": tap(date=0),
    "a field Telegram added after this module": {
        "update_id": 3,
        "message": message(text="x", brand_new_field=1),
    },
    "a deprecated forward field": {
        "update_id": 4,
        "message": message(text="x", forward_date=1_790_000_000),
    },
    "a button with a web app": tap(
        text="x",
        reply_markup={"inline_keyboard": [[{"text": "Open", "web_app": {"url": "https://e.org"}}]]},
    ),
    "a user with a field this version does not know": {
        "update_id": 5,
        "message": message(text="x", **{"from": {**ANNA, "future_flag": True}}),
    },
    "two payloads in one update": {
        "update_id": 6,
        "message": message(text="x"),
        "edited_message": message(text="y"),
    },
    "a date of the wrong type": {"update_id": 7, "message": message(text="x", date="yesterday")},
}


def slots(obj: object) -> Iterator[str]:
    for klass in type(obj).__mro__:
        yield from getattr(klass, "__slots__", ())


def assert_same(ours: Any, theirs: Any, path: str = "update") -> None:
    """The two values are the same, all the way down."""
    assert type(ours) is type(theirs), f"{path}: {type(ours)} is not {type(theirs)}"
    if isinstance(theirs, TelegramObject):
        for name in set(slots(theirs)):
            assert_same(getattr(ours, name), getattr(theirs, name), f"{path}.{name}")
    elif isinstance(theirs, tuple | list):
        assert len(ours) == len(theirs), path
        for index, (mine, other) in enumerate(zip(ours, theirs, strict=True)):
            assert_same(mine, other, f"{path}[{index}]")
    elif isinstance(theirs, MappingProxyType | dict):
        assert dict(ours) == dict(theirs), path
    elif isinstance(theirs, Bot):
        assert ours is theirs, path
    else:
        assert ours == theirs, f"{path}: {ours!r} != {theirs!r}"


@pytest.fixture
def count_fallbacks(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The updates handed over to python-telegram-bot's parser."""
    handed_over: list[dict[str, Any]] = []
    original = update_parsing._original_parse

    def spy(cls: type[Update], data: dict[str, Any], bot: Bot | None) -> Update:
        handed_over.append(data)
        return original(cls, data, bot)

    monkeypatch.setattr(update_parsing, "_original_parse", spy)
    return handed_over


@pytest.mark.parametrize("name", COMMON)
def test_common_updates_are_built_fast_and_identical(
    name: str, count_fallbacks: list[dict[str, Any]]
) -> None:
    data = COMMON[name]
    untouched = copy.deepcopy(data)
    ours = parse_update(data, BOT)
    assert count_fallbacks == [], "the fast path did not take it"
    assert data == untouched, "the caller's JSON was changed"
    assert_same(ours, ptb_parse(data, BOT))


@pytest.mark.parametrize("name", UNUSUAL)
def test_unusual_updates_go_to_python_telegram_bot(
    name: str, count_fallbacks: list[dict[str, Any]]
) -> None:
    data = UNUSUAL[name]
    try:
        expected = ptb_parse(data, BOT)
    except Exception as exc:  # whatever python-telegram-bot says, we say too
        with pytest.raises(type(exc)):
            parse_update(data, BOT)
    else:
        assert_same(parse_update(data, BOT), expected)
    assert count_fallbacks, "the fast path took a shape it does not know"


def test_the_built_objects_are_frozen_plain_python_telegram_bot_objects() -> None:
    update = parse_update(COMMON["tap on a menu (as Telegram sends it)"], BOT)
    query = update.callback_query
    assert type(query) is CallbackQuery and type(query.message) is Message
    assert type(query.from_user) is User
    with pytest.raises(AttributeError, match="can't be set"):
        query.data = "forged"
    with pytest.raises(AttributeError, match="can't be set"):
        query.message.reply_markup.inline_keyboard[0][0].callback_data = "x"  # type: ignore[union-attr]
    # equality and hashing as python-telegram-bot defines them
    theirs = ptb_parse(COMMON["tap on a menu (as Telegram sends it)"], BOT)
    assert query == theirs.callback_query and hash(query) == hash(theirs.callback_query)
    assert update.effective_user == theirs.effective_user
    assert update.callback_query.message.get_bot() is BOT  # type: ignore[union-attr]


def test_dates_follow_the_bots_default_time_zone() -> None:
    paris_winter = timezone(timedelta(hours=1))
    bot = ExtBot("123456:local-test-token", defaults=Defaults(tzinfo=paris_winter))
    data = COMMON["edited message"]
    ours = parse_update(data, bot)
    assert ours.edited_message is not None
    assert ours.edited_message.date.utcoffset() == timedelta(hours=1)
    assert_same(ours, ptb_parse(data, bot))


def test_random_mixes_of_the_known_fields_are_identical(
    count_fallbacks: list[dict[str, Any]],
) -> None:
    """Seeded random messages: any subset of the fields the fast path knows, in any order."""
    rng = random.Random(20261121)
    optional: dict[str, Any] = {
        "text": "Réservation 📅",
        "caption": "a caption",
        "message_thread_id": 3,
        "has_protected_content": True,
        "is_from_offline": True,
        "media_group_id": "g1",
        "author_signature": "Anna",
        "effect_id": "e1",
        "sender_boost_count": 2,
        "is_automatic_forward": True,
        "sender_chat": {"id": -100, "type": "channel", "title": "News"},
        "edit_date": 1_790_000_100,
        "entities": [{"type": "bold", "offset": 0, "length": 3}],
        "caption_entities": [{"type": "pre", "offset": 0, "length": 1, "language": "python"}],
        "contact": {"phone_number": "+33612345678", "first_name": "A", "vcard": "BEGIN:VCARD"},
        "reply_markup": MENU,
    }
    for round_ in range(60):
        chosen = rng.sample(sorted(optional), rng.randint(0, len(optional)))
        fields = {key: optional[key] for key in chosen}
        payload = message(**fields)
        keys = list(payload)
        rng.shuffle(keys)
        payload = {key: payload[key] for key in keys}
        data = {"update_id": round_, "message": payload}
        assert_same(parse_update(data, BOT), ptb_parse(data, BOT), f"round {round_}")
    assert count_fallbacks == []


@pytest.fixture
def restore_update_de_json() -> Iterator[None]:
    before = inspect.getattr_static(Update, "de_json")
    yield
    Update.de_json = before  # type: ignore[method-assign]


@pytest.mark.usefixtures("restore_update_de_json")
def test_install_makes_update_de_json_and_de_list_use_it(
    count_fallbacks: list[dict[str, Any]],
) -> None:
    update_parsing.uninstall()
    assert Update.de_json.__func__.__module__ == "telegram._update"  # type: ignore[attr-defined]
    update_parsing.install()
    update_parsing.install()  # twice is the same as once
    data = COMMON["command"]
    assert_same(Update.de_json(data, BOT), ptb_parse(data, BOT))
    (listed,) = Update.de_list([data], BOT)
    assert_same(listed, ptb_parse(data, BOT))
    assert count_fallbacks == []

    class MyUpdate(Update):
        __slots__ = ()

    mine = MyUpdate.de_json(data, BOT)
    assert type(mine) is MyUpdate, "a subclass keeps python-telegram-bot's parser"
    assert len(count_fallbacks) == 1
