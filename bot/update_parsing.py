"""Turning the Bot API's JSON into python-telegram-bot's ``Update`` objects, two to three
times faster than ``Update.de_json`` for the updates a booking bot receives.

``Update.de_json`` is written for every kind of update there is: a text message goes through
some 80 ``de_json_optional`` calls for the fields a message *could* carry, then a constructor
that sets ~120 attributes, each through ``TelegramObject.__setattr__`` in Python. That was a
fifth of the time the bot spent on an update (``docs/performance.md``).

:func:`parse_update` builds the same objects for the common shapes: an update holding one
``message``, ``edited_message`` or ``callback_query``, whose message, users, chat, entities,
contact and inline keyboard carry only the fields listed here. The objects are made by
python-telegram-bot's own constructors, so every default and derived attribute is theirs; two
things make it fast:

- only the fields present are converted, instead of asking for every possible one;
- each constructor runs on a twin class without the Python ``__setattr__`` (same layout, so the
  object's class is set back once it is built and frozen, exactly as the original would be).

Anything else (another kind of update, a field not listed, a message whose date is 0) goes to
``Update.de_json`` unchanged. ``tests/bot/test_update_parsing.py`` checks, slot by slot, that
both give the same objects, so a python-telegram-bot release that changes a conversion is caught
there rather than in production.

:func:`install` makes ``Update.de_json`` itself use this, so that polling (``get_updates`` parses
with ``Update.de_list``), the webhook server and our own tools all get it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from telegram import (
    Bot,
    CallbackQuery,
    Chat,
    Contact,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    TelegramObject,
    Update,
    User,
)

_T = TypeVar("_T", bound=TelegramObject)


class _Unusual(Exception):
    """A field or shape this module does not convert: python-telegram-bot's parser takes it."""


# -- building objects -----------------------------------------------------------------------
_UNCHECKED: dict[type[TelegramObject], type[TelegramObject]] = {}


def _unchecked_twin(cls: type[_T]) -> type[_T]:
    """A subclass of ``cls`` with the same memory layout whose attribute assignments skip
    ``TelegramObject.__setattr__`` (the frozen check, which a half-built object never needs)."""
    twin = _UNCHECKED.get(cls)
    if twin is None:
        twin = type(
            f"_Unchecked{cls.__name__}",
            (cls,),
            {"__slots__": (), "__setattr__": object.__setattr__, "__module__": __name__},
        )
        _UNCHECKED[cls] = twin
    return twin  # type: ignore[return-value]


def _build(cls: type[_T], bot: Bot | None, kwargs: dict[str, Any], *, with_bot: bool = True) -> _T:
    """``cls(**kwargs)`` with ``set_bot(bot)``, as ``TelegramObject._de_json`` does it."""
    obj = object.__new__(_unchecked_twin(cls))
    cls.__init__(obj, **kwargs)
    if with_bot:
        obj._bot = bot  # what set_bot() does
    # The twin adds no slots, so the finished object can become a plain ``cls``.
    obj.__class__ = cls
    return obj


def _constructor_fields(cls: type[TelegramObject]) -> frozenset[str]:
    """The JSON fields ``cls`` takes as they are: its constructor's parameters."""
    return frozenset(inspect.signature(cls).parameters) - {"api_kwargs"}


def _parses_plainly(cls: type[TelegramObject]) -> bool:
    """Whether python-telegram-bot parses ``cls`` by handing the JSON to its constructor as it
    is (no ``de_json`` of its own): then that is all :func:`_plain_parser` has to do too."""
    return (
        cls.de_json.__func__ is TelegramObject.de_json.__func__  # type: ignore[attr-defined]
        and cls._de_json.__func__ is TelegramObject._de_json.__func__  # type: ignore[attr-defined]
    )


def _plain_parser(cls: type[_T]) -> Callable[[Mapping[str, Any], Bot | None], _T]:
    """A parser for a class whose fields are all plain JSON values."""
    fields = _constructor_fields(cls)
    if not _parses_plainly(cls):
        # A later python-telegram-bot converts some of its fields: leave it all to it.
        fields = frozenset()

    def parse(data: Mapping[str, Any], bot: Bot | None) -> _T:
        if not fields.issuperset(data):
            raise _Unusual(cls.__name__)
        return _build(cls, bot, dict(data))

    return parse


_user = _plain_parser(User)
_chat = _plain_parser(Chat)
_contact = _plain_parser(Contact)


def _timestamp(value: Any, bot: Bot | None) -> datetime:
    """``telegram._utils.datetime.from_timestamp`` with the bot's default time zone."""
    if not isinstance(value, int) or isinstance(value, bool) or value == 0:
        # 0 marks an inaccessible message; anything else odd is python-telegram-bot's to judge
        raise _Unusual("date")
    defaults = getattr(bot, "defaults", None)
    tzinfo = defaults.tzinfo if defaults else None
    return datetime.fromtimestamp(value, tz=UTC if tzinfo is None else tzinfo)


# -- the classes python-telegram-bot parses with a de_json of their own ----------------------
#: MessageEntity's plain fields (its de_json converts ``user`` and ``unix_time``)
_ENTITY_FIELDS = frozenset(
    {"type", "offset", "length", "url", "language", "custom_emoji_id", "date_time_format"}
) & _constructor_fields(MessageEntity)


def _entity(data: Mapping[str, Any], bot: Bot | None) -> MessageEntity:
    kwargs = dict(data)
    user = kwargs.pop("user", None)
    if not _ENTITY_FIELDS.issuperset(kwargs):
        raise _Unusual("MessageEntity")
    if user is not None:
        kwargs["user"] = _user(user, bot)
    return _build(MessageEntity, bot, kwargs)


def _entities(items: list[Mapping[str, Any]], bot: Bot | None) -> tuple[MessageEntity, ...]:
    return tuple(_entity(item, bot) for item in items)


#: InlineKeyboardButton's plain fields (its de_json converts login_url, web_app, callback_game,
#: switch_inline_query_chosen_chat and copy_text)
_BUTTON_FIELDS = frozenset(
    {
        "text",
        "callback_data",
        "url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "pay",
        "style",
        "icon_custom_emoji_id",
    }
) & _constructor_fields(InlineKeyboardButton)


def _keyboard(data: Mapping[str, Any], bot: Bot | None) -> InlineKeyboardMarkup:
    if data.keys() != {"inline_keyboard"}:
        raise _Unusual("InlineKeyboardMarkup")
    rows = []
    for row in data["inline_keyboard"]:
        buttons = []
        for button in row:
            if not _BUTTON_FIELDS.issuperset(button):
                raise _Unusual("InlineKeyboardButton")
            buttons.append(_build(InlineKeyboardButton, bot, dict(button)))
        rows.append(buttons)
    # InlineKeyboardMarkup.de_json leaves the markup itself without a bot
    return _build(InlineKeyboardMarkup, bot, {"inline_keyboard": rows}, with_bot=False)


#: Message fields taken as they are.
_MESSAGE_PLAIN = frozenset(
    {
        "message_id",
        "text",
        "caption",
        "message_thread_id",
        "is_topic_message",
        "has_protected_content",
        "is_from_offline",
        "media_group_id",
        "author_signature",
        "effect_id",
        "business_connection_id",
        "sender_boost_count",
        "is_automatic_forward",
    }
) & _constructor_fields(Message)
#: Message fields that become objects, and how (JSON key → constructor keyword and parser).
_MESSAGE_NESTED: dict[str, tuple[str, Callable[[Any, Bot | None], Any]]] = {
    "from": ("from_user", _user),
    "chat": ("chat", _chat),
    "sender_chat": ("sender_chat", _chat),
    "date": ("date", _timestamp),
    "edit_date": ("edit_date", _timestamp),
    "entities": ("entities", _entities),
    "caption_entities": ("caption_entities", _entities),
    "contact": ("contact", _contact),
    "reply_markup": ("reply_markup", _keyboard),
}


def _message(data: Mapping[str, Any], bot: Bot | None) -> Message:
    if "date" not in data or "chat" not in data:
        raise _Unusual("Message")
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key in _MESSAGE_PLAIN:
            kwargs[key] = value
            continue
        nested = _MESSAGE_NESTED.get(key)
        if nested is None:
            raise _Unusual(f"Message.{key}")
        keyword, parse = nested
        kwargs[keyword] = parse(value, bot)
    return _build(Message, bot, kwargs)


_CALLBACK_PLAIN = frozenset({"id", "chat_instance", "data", "inline_message_id", "game_short_name"})


def _callback_query(data: Mapping[str, Any], bot: Bot | None) -> CallbackQuery:
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key in _CALLBACK_PLAIN:
            kwargs[key] = value
        elif key == "from":
            kwargs["from_user"] = _user(value, bot)
        elif key == "message":
            kwargs["message"] = _message(value, bot)
        else:
            raise _Unusual(f"CallbackQuery.{key}")
    return _build(CallbackQuery, bot, kwargs)


_UPDATE_PAYLOADS: dict[str, Callable[[Any, Bot | None], TelegramObject]] = {
    "message": _message,
    "edited_message": _message,
    "callback_query": _callback_query,
}


# -- the entry points -----------------------------------------------------------------------
#: python-telegram-bot's own ``Update.de_json`` (the classmethod object), kept before
#: :func:`install` replaces it.
_ORIGINAL_DE_JSON: classmethod[Update, [dict[str, Any], Bot | None], Update] = (
    inspect.getattr_static(Update, "de_json")
)


def _original_parse(cls: type[Update], data: dict[str, Any], bot: Bot | None) -> Update:
    return _ORIGINAL_DE_JSON.__func__(cls, data, bot)


def parse_update(data: dict[str, Any], bot: Bot | None = None) -> Update:
    """The ``Update`` that ``Update.de_json(data, bot)`` would build, built faster when the
    update has a common shape (see the module's docstring)."""
    if len(data) == 2 and "update_id" in data:
        for key, parse in _UPDATE_PAYLOADS.items():
            payload = data.get(key)
            if payload is not None:
                try:
                    kwargs = {"update_id": data["update_id"], key: parse(payload, bot)}
                except (_Unusual, TypeError, KeyError, AttributeError):
                    # TypeError and friends: a field of the wrong type, which the original
                    # parser may still accept or explain better
                    break
                return _build(Update, bot, kwargs)
    return _original_parse(Update, data, bot)


def _de_json(cls: type[Update], data: dict[str, Any], bot: Bot | None = None) -> Update:
    if cls is not Update:
        # a subclass of Update: only python-telegram-bot's parser knows what it wants
        return _original_parse(cls, data, bot)
    return parse_update(data, bot)


def install() -> None:
    """Make ``Update.de_json`` (and so ``Update.de_list``, which polling uses, and the webhook
    server) go through :func:`parse_update`. Idempotent."""
    Update.de_json = classmethod(_de_json)  # type: ignore[assignment, method-assign]


def uninstall() -> None:
    """Give ``Update.de_json`` back to python-telegram-bot (tests)."""
    Update.de_json = _ORIGINAL_DE_JSON  # type: ignore[assignment, method-assign]
