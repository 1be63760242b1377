"""A tap's reply does not wait for the answer to the tap: both go out at once.

Answering a callback query and editing the tapped message are independent Bot API calls; sent one
after the other, every tap's reply would cost a whole extra round trip to Telegram."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Update

from bot.engine.types import Event, Reply, Screen
from bot.telegram_io import deliver

CHAT = 4242


class _BotWhoseAnswerWaitsForTheEdit:
    """A stand-in for the Bot's named methods: the tap's answer only completes once the edit
    has started, as a Bot API round trip that is slower than the edit's would."""

    def __init__(self) -> None:
        self.edit_started = asyncio.Event()
        self.calls: list[str] = []

    async def answer_callback_query(self, query_id: str, **_: Any) -> bool:
        self.calls.append("answer started")
        await self.edit_started.wait()
        self.calls.append("answer done")
        return True

    async def edit_message_text(self, text: str, **_: Any) -> bool:
        self.calls.append("edit started")
        self.edit_started.set()
        return True


def _tap_update() -> Update:
    return Update.de_json(
        {
            "update_id": 1,
            "callback_query": {
                "id": "q1",
                "from": {"id": CHAT, "is_bot": False, "first_name": "Anna"},
                "chat_instance": "ci",
                "data": "c1.1",
                "message": {
                    "message_id": 7,
                    "date": 0,
                    "chat": {"id": CHAT, "type": "private"},
                    "text": "Which service would you like?",
                },
            },
        },
        None,
    )


async def test_the_edit_goes_out_while_the_tap_is_being_answered() -> None:
    bot = _BotWhoseAnswerWaitsForTheEdit()
    event = Event(user_id=CHAT, chat_id=CHAT, kind="button", text="c1.1", message_id=7)
    reply = Reply(screens=[Screen(text="Which day?")], edit=True)
    await asyncio.wait_for(deliver(bot, _tap_update(), event, reply), timeout=2)  # type: ignore[arg-type]
    # One after the other, the answer would wait for an edit that waits for the answer.
    assert sorted(bot.calls) == ["answer done", "answer started", "edit started"]
    assert bot.calls.index("edit started") < bot.calls.index("answer done")
