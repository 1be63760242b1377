"""Updates of different chats are handled at once, each chat's in order (bot/update_processor.py),
through the running Application's own update queue, as polling and the webhook feed it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.app import build_application
from bot.local_api import ApiCall, LocalBotApi, UpdateFactory
from bot.services import Services
from bot.update_processor import ChatOrderedProcessor, chat_key

SLOW_PLATFORM = 2.0
ALLOWED_DELAY = 0.05


class Replies:
    """When each chat's replies arrived at the Bot API."""

    def __init__(self) -> None:
        self.at: dict[int, list[float]] = {}
        self.texts: dict[int, list[str]] = {}
        self.arrived = asyncio.Event()

    def __call__(self, call: ApiCall) -> None:
        chat = call.params.get("chat_id")
        if call.method in ("sendMessage", "editMessageText") and chat is not None:
            self.at.setdefault(int(chat), []).append(time.monotonic())
            self.texts.setdefault(int(chat), []).append(str(call.params.get("text", "")))
            self.arrived.set()

    async def wait_for(self, chat: int, count: int = 1) -> None:
        """Until ``count`` replies reached ``chat`` (ten seconds at most)."""
        async with asyncio.timeout(10):
            while len(self.at.get(chat, [])) < count:
                self.arrived.clear()
                await self.arrived.wait()

    async def first(self, chat: int) -> float:
        await self.wait_for(chat)
        return self.at[chat][0]


@asynccontextmanager
async def started(services: Services) -> AsyncIterator[tuple[Application, Replies]]:  # type: ignore[type-arg]
    replies = Replies()
    api = LocalBotApi(on_call=replies)
    application = build_application(services, request=api, rate_limit=False, jobs=False)
    async with application:
        await application.start()
        try:
            yield application, replies
        finally:
            await application.stop()


def slow_first_call(
    method: Callable[..., Awaitable[Any]], seconds: float
) -> Callable[..., Awaitable[Any]]:
    """The platform answers its first call after ``seconds`` (a platform having a bad moment)."""
    calls = 0

    async def slow(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(seconds)
        return await method(*args, **kwargs)

    return slow


async def reply_latency(application: Application, replies: Replies, update: Update) -> float:  # type: ignore[type-arg]
    sent = time.monotonic()
    await application.update_queue.put(update)
    assert update.effective_chat is not None
    return await replies.first(update.effective_chat.id) - sent


async def test_a_slow_platform_call_does_not_delay_another_chats_reply(
    services: Services,
) -> None:
    provider = services.providers["sample-salon"]
    async with started(services) as (application, replies):
        alone = UpdateFactory(application.bot, user_id=70)
        baseline = await reply_latency(application, replies, alone.text("/book"))

        # The first call to the platform from now on takes two seconds: the next /book.
        provider.flow = slow_first_call(provider.flow, SLOW_PLATFORM)  # type: ignore[method-assign]
        slow = UpdateFactory(application.bot, user_id=71)
        other = UpdateFactory(application.bot, user_id=72)
        started_at = time.monotonic()
        await application.update_queue.put(slow.text("/book"))
        await asyncio.sleep(0.01)  # the slow one is waiting on the platform
        latency = await reply_latency(application, replies, other.text("/book"))

        assert latency - baseline <= ALLOWED_DELAY, (latency, baseline)
        assert 71 not in replies.at  # the slow chat really was still waiting
        assert await replies.first(71) - started_at >= SLOW_PLATFORM


async def test_one_chats_updates_keep_their_order(services: Services) -> None:
    """Quick messages of one chat are answered in the order they were sent, even when the
    first waits on the platform (handled at once, the /cancel would be answered first)."""
    provider = services.providers["sample-salon"]
    provider.flow = slow_first_call(provider.flow, 0.3)  # type: ignore[method-assign]
    async with started(services) as (application, replies):
        chat = UpdateFactory(application.bot, user_id=80)
        for text in ("/book", "/cancel", "/help", "/book"):
            await application.update_queue.put(chat.text(text))
        await replies.wait_for(80, count=4)
    texts = replies.texts[80]
    assert len(texts) == 4, texts
    assert "Which service" in texts[0]
    assert "Which service" not in texts[1]  # the cancel's answer
    assert "/mybookings" in texts[2]  # the help
    assert "Which service" in texts[3]


async def test_updates_without_a_chat_or_user_run_unordered_and_chats_are_forgotten() -> None:
    processor = ChatOrderedProcessor(max_running=2, max_pending=8)
    assert chat_key(object()) is None
    ran: list[int] = []

    async def work(n: int) -> None:
        await asyncio.sleep(0.01)
        ran.append(n)

    await asyncio.gather(*(processor.process_update(object(), work(n)) for n in range(4)))
    assert sorted(ran) == [0, 1, 2, 3]
    assert processor.chats_waiting == 0
