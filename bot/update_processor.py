"""Updates of different chats at once, each chat's in order: :class:`ChatOrderedProcessor`,
python-telegram-bot's :class:`~telegram.ext.BaseUpdateProcessor` for the Application.

python-telegram-bot handles updates one at a time by default, so one customer waiting on a slow
platform call held up every other customer's tap. With this processor the Application runs each
update in a task of its own; updates of the same chat (or, without a chat, the same user) wait
for the previous one of that chat to finish, so a conversation sees its taps in the order
Telegram sent them, while other chats go on. The engine's versioned state write already makes
concurrent turns safe; the order is what a user expects (two quick taps, one after the other).

Two bounds: python-telegram-bot's own semaphore (``max_pending``, around
:meth:`do_process_update`) bounds how many updates are accepted and waiting (their memory);
``max_running`` bounds how many are handled at once (database connections, the platforms'
patience). An update waiting for its chat holds only the first, so one busy chat cannot take
every running slot from the others.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

#: updates handled at once in one process
DEFAULT_MAX_RUNNING = 64
#: updates accepted (running or waiting for their chat) in one process
DEFAULT_MAX_PENDING = 4096

ChatKey = tuple[str, int] | None


def chat_key(update: object) -> ChatKey:
    """What orders an update: its chat, else its user; ``None`` for neither (polls, ...)."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return ("chat", update.effective_chat.id)
    if update.effective_user is not None:
        return ("user", update.effective_user.id)
    return None


class _ChatTurn:
    """One chat's lock and how many of its updates hold or wait for it (to forget idle chats)."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Give it to ``ApplicationBuilder().concurrent_updates(...)``."""

    def __init__(
        self, max_running: int = DEFAULT_MAX_RUNNING, max_pending: int = DEFAULT_MAX_PENDING
    ) -> None:
        if max_running < 1 or max_pending < max_running:
            raise ValueError("need 1 <= max_running <= max_pending")
        super().__init__(max_pending)
        self.max_running = max_running
        self._running = asyncio.BoundedSemaphore(max_running)
        self._chats: dict[ChatKey, _ChatTurn] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the chat's previous update, then for a running slot, then handle it.

        asyncio's lock wakes its waiters first come, first served, and python-telegram-bot
        starts the update tasks in the order the updates arrived: the chat's order holds."""
        key = chat_key(update)
        if key is None:
            async with self._running:
                await coroutine
            return
        turn = self._chats.get(key)
        if turn is None:
            turn = self._chats[key] = _ChatTurn()
        turn.users += 1
        started = False
        try:
            async with turn.lock, self._running:
                started = True
                await coroutine
        finally:
            if not started and inspect.iscoroutine(coroutine):
                coroutine.close()  # cancelled while waiting: it will never run
            turn.users -= 1
            if turn.users == 0:
                del self._chats[key]

    @property
    def chats_waiting(self) -> int:
        """Chats with an update running or waiting (memory is bounded by this)."""
        return len(self._chats)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release: the Application waits for its update tasks when it stops."""
