"""Drive the real Application through ``process_update`` with the local Bot API.

``ChatDriver`` plays one user: ``await chat.send("/book")``, ``await chat.press("Haircut")``,
then inspect ``chat.text`` (the newest message), ``chat.labels`` (the newest menu) and
``chat.api.calls`` (everything the bot sent).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram.ext import Application

from bot.app import build_application
from bot.local_api import LocalBotApi, UpdateFactory
from bot.services import Services


class ChatDriver:
    def __init__(
        self, application: Application, api: LocalBotApi, user_id: int = 42, language: str = "en"
    ) -> None:  # type: ignore[type-arg]
        self.application = application
        self.api = api
        self.updates = UpdateFactory(application.bot, user_id=user_id, language=language)
        self.user_id = user_id

    # -- acting ------------------------------------------------------------------------------
    async def send(self, text: str) -> None:
        await self.application.process_update(self.updates.text(text))

    async def share_contact(self, phone: str) -> None:
        await self.application.process_update(self.updates.contact(phone))

    async def press(self, label: str | re.Pattern[str]) -> None:
        """Tap the newest menu's button whose label equals (or matches) ``label``."""
        data = self.data_of(label)
        await self.tap(data)

    async def tap(self, data: str, message_id: int | None = None) -> None:
        """Send raw callback data (may be stale or forged)."""
        mid = message_id if message_id is not None else (self.api.last_menu_message_id() or 1)
        await self.application.process_update(self.updates.button(data, message_id=mid))

    def data_of(self, label: str | re.Pattern[str]) -> str:
        for text, data in self.api.last_buttons():
            if (isinstance(label, str) and text == label) or (
                isinstance(label, re.Pattern) and label.search(text)
            ):
                return data
        raise AssertionError(f"no button {label!r} in {self.labels}")

    async def press_first_day(self) -> None:
        """Tap the first selectable day of the calendar shown."""
        for text, data in self.api.last_buttons():
            if text.isdigit():
                await self.tap(data)
                return
        raise AssertionError(f"no selectable day in {self.labels}")

    async def press_first_time(self) -> None:
        for text, data in self.api.last_buttons():
            if re.match(r"^\d{1,2}:\d{2}", text):
                await self.tap(data)
                return
        raise AssertionError(f"no time slot in {self.labels}")

    # -- looking -----------------------------------------------------------------------------
    @property
    def text(self) -> str:
        return self.api.last_text()

    @property
    def labels(self) -> list[str]:
        return [text for text, _ in self.api.last_buttons()]

    def texts(self) -> list[str]:
        return [str(c.params.get("text", "")) for c in self.api.sent()]

    def calls(self, method: str) -> list[Any]:
        return [c for c in self.api.calls if c.method == method]


@asynccontextmanager
async def running_bot(
    services: Services, user_id: int = 42, language: str = "en"
) -> AsyncIterator[ChatDriver]:
    api = LocalBotApi()
    application = build_application(services, request=api, rate_limit=False, jobs=False)
    async with application:
        yield ChatDriver(application, api, user_id=user_id, language=language)
