"""A Bot API that lives in this process: the console channel, the tests and the benchmarks run
the real python-telegram-bot Application against it, with no network and no token.

:class:`LocalBotApi` is a ``telegram.request.BaseRequest`` that answers the Bot API methods the
bot uses as Telegram would (message ids, edited messages, ``true`` for the rest) and records every
call. :class:`UpdateFactory` makes the updates a user would cause.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot, Update
from telegram.request import BaseRequest, RequestData

#: A syntactically valid token for a bot that only ever talks to :class:`LocalBotApi`.
LOCAL_TOKEN = "123456:local-console-token"  # noqa: S105 - talks to no server
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Bookbot", "username": "bookbot_local_bot"}


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    #: id of the message sent or edited, for sendMessage / editMessageText
    message_id: int | None = None
    #: the files uploaded with the call (sendDocument, sendPhoto): field name -> bytes
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class LocalBotApi(BaseRequest):
    """Answers Bot API calls locally and records them in :attr:`calls`."""

    calls: list[ApiCall] = field(default_factory=list)
    on_call: Callable[[ApiCall], None] | None = None
    #: keep recorded calls (tests) or not (long benchmarks)
    record: bool = True
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        result = self._result(api_method, params)
        call = ApiCall(api_method, params)
        if request_data is not None and request_data.contains_files:
            call.files = {
                name: part[1]
                for name, part in (request_data.multipart_data or {}).items()
                if isinstance(part, tuple) and isinstance(part[1], bytes)
            }
        if isinstance(result, dict) and "message_id" in result:
            call.message_id = int(result["message_id"])
        if self.record:
            self.calls.append(call)
        if self.on_call is not None:
            self.on_call(call)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {
                **BOT_USER,
                "can_join_groups": False,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if method in ("sendDocument", "sendPhoto"):
            return {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": params["chat_id"], "type": "private"},
                "from": BOT_USER,
            }
        if method in ("sendMessage", "editMessageText"):
            message_id = params.get("message_id") or next(self._message_ids)
            message: dict[str, Any] = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": params["chat_id"], "type": "private"},
                "from": BOT_USER,
                "text": params.get("text", ""),
            }
            markup = params.get("reply_markup")
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                message["reply_markup"] = markup
            return message
        if method == "getUpdates":
            return []
        return True

    # -- helpers for tests ------------------------------------------------------------------
    def sent(self, *methods: str) -> list[ApiCall]:
        wanted = methods or ("sendMessage", "editMessageText")
        return [c for c in self.calls if c.method in wanted]

    def last_text(self) -> str:
        return str(self.sent()[-1].params.get("text", ""))

    def last_buttons(self) -> list[tuple[str, str]]:
        """(label, callback data) of the newest inline keyboard."""
        for call in reversed(self.sent()):
            markup = call.params.get("reply_markup")
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                return [
                    (b["text"], b.get("callback_data", ""))
                    for row in markup["inline_keyboard"]
                    for b in row
                ]
        return []

    def last_menu_message_id(self) -> int | None:
        for call in reversed(self.sent()):
            markup = call.params.get("reply_markup")
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                return call.message_id
        return None


class UpdateFactory:
    """Builds the updates one user would cause in a private chat."""

    def __init__(
        self, bot: Bot, user_id: int = 42, first_name: str = "Anna", language: str = "en"
    ) -> None:
        self.bot = bot
        self.user = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language,
        }
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(1)

    @property
    def chat(self) -> dict[str, Any]:
        return {"id": self.user["id"], "type": "private"}

    def _message(self, **extra: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat,
            "from": self.user,
            **extra,
        }

    def text(self, text: str) -> Update:
        extra: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            extra["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        return Update.de_json(
            {"update_id": next(self._ids), "message": self._message(**extra)}, self.bot
        )

    def contact(self, phone: str) -> Update:
        contact = {
            "phone_number": phone,
            "first_name": self.user["first_name"],
            "user_id": self.user["id"],
        }
        return Update.de_json(
            {"update_id": next(self._ids), "message": self._message(contact=contact)}, self.bot
        )

    def button(
        self,
        data: str,
        message_id: int = 1,
        text: str = "menu",
        reply_markup: dict[str, Any] | None = None,
    ) -> Update:
        """A tap on a button of message ``message_id``. Telegram repeats the whole message in
        the callback query, keyboard included; pass ``reply_markup`` to do the same."""
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self.chat,
            "from": BOT_USER,
            "text": text,
        }
        if reply_markup is not None:
            message["reply_markup"] = reply_markup
        query = {
            "id": str(next(self._ids)),
            "from": self.user,
            "chat_instance": "local",
            "data": data,
            "message": message,
        }
        return Update.de_json({"update_id": next(self._ids), "callback_query": query}, self.bot)
