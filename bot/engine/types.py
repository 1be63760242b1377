"""What goes into the engine (an :class:`Event`) and what comes out (a :class:`Reply`).

Channel-agnostic: the Telegram handlers and the console channel both translate to and from
these, so the engine never sees a python-telegram-bot object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

EventKind = Literal["command", "text", "button", "contact"]


@dataclass(frozen=True)
class Event:
    user_id: int
    chat_id: int
    kind: EventKind
    #: command name without the slash (``"book"``), for ``kind == "command"``
    command: str = ""
    #: command arguments, typed text, or callback data (``kind == "button"``)
    text: str = ""
    #: phone number of a shared contact (``kind == "contact"``)
    phone: str = ""
    telegram_language: str | None = None
    first_name: str = ""
    #: id of the message the event came from (a button's message, or the user's own message)
    message_id: int | None = None
    #: the formatting of ``text`` (``kind == "text"``), as the Bot API's ``MessageEntity`` JSON;
    #: kept by features that repeat a message as it was written (a broadcast)
    entities: tuple[dict[str, object], ...] = ()
    #: the sender's Telegram @username (without the @), if they have one
    username: str | None = None
    #: for a forwarded message: the id of the user who wrote it, when their privacy settings
    #: let Telegram say (an owner names a user to /grant or /block by forwarding their message)
    forward_user_id: int | None = None
    #: (``kind == "button"``) the tapped message's keyboard, as Telegram repeats it, has a
    #: button with this data. A client may send any data for any message: engine tokens are
    #: checked against the server's menu instead, and a legacy settings switch (``ds:``) acts
    #: only when this is true
    data_on_message: bool = False


class Button(NamedTuple):
    """An inline button as the channel shows it (a named tuple: a month view makes ~55 of
    them per screen, and a tuple is the cheapest immutable object to build)."""

    label: str
    #: the callback data sent to the channel (a short token), filled in by the engine
    token: str = ""


@dataclass
class Screen:
    """One message to show. ``buttons`` are rows of inline buttons."""

    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    #: show Telegram's "share my phone number" keyboard with this message
    request_contact: bool = False
    #: remove a reply keyboard shown earlier
    remove_keyboard: bool = False
    #: the formatting of ``text`` (Bot API ``MessageEntity`` JSON), for text the user wrote
    entities: tuple[dict[str, object], ...] = ()


@dataclass(frozen=True)
class Document:
    """A file sent with the reply (``/mydata``'s JSON, ``/export``'s CSV), or a picture."""

    filename: str
    content: bytes
    caption: str = ""
    #: send it as a photo (a chart), not as a file
    photo: bool = False


@dataclass
class Reply:
    screens: list[Screen] = field(default_factory=list)
    #: replace the menu message the button was on (True) or send new messages (False)
    edit: bool = False
    #: a short notice shown by Telegram on the tapped button (answerCallbackQuery)
    alert: str | None = None
    #: show :attr:`alert` as a dialog the user closes, not a passing notice (a refusal)
    alert_dialog: bool = False
    #: delete the user's message (it held a password)
    delete_user_message: bool = False
    #: the language the texts are in
    language: str = "en"
    #: files sent after the screens
    documents: list[Document] = field(default_factory=list)
    #: command menus to set now, per private chat (roles changed): chat id -> (language,
    #: [(command, description)]) (``set_my_commands`` with a chat scope)
    command_menus: dict[int, tuple[str, list[tuple[str, str]]]] = field(default_factory=dict)
    #: replace only the keyboard of the tapped message, keeping its text (``[]`` removes it);
    #: for messages sent outside the conversation (a reminder), whose buttons carry their own
    #: callback data in :attr:`Button.token`
    tapped_keyboard: list[list[Button]] | None = None
