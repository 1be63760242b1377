"""While a Confirm is calling the platform, and after it died there: commands are answered
and say so, the checkpointed state keeps no usable menu, and the old Confirm button never
books again after the confirming grace."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.config import AppConfig
from bot.services import Services, build_services
from storage.models import Booking, Conversation, LocalAppointment
from tests.bot.harness import ChatDriver, running_bot
from tests.bot.test_local_booking import book_haircut

IN_PROGRESS = "Your booking is being confirmed right now."


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def clocked(sample_config: AppConfig) -> AsyncIterator[tuple[Services, Clock]]:
    clock = Clock()
    services = await build_services(sample_config, env={}, clock=clock)
    yield services, clock
    await services.aclose()


async def count(services: Services, model: type[object]) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def stored_state(services: Services) -> dict[str, Any]:
    async with services.sessions() as session:
        return dict((await session.scalars(select(Conversation))).one().data)


async def confirm_that_hangs(chat: ChatDriver, services: Services) -> asyncio.Task[None]:
    """Tap Confirm with the booking call blocked (the platform, or the process, hanging)."""
    provider = services.providers["sample-salon"]
    entered = asyncio.Event()

    async def hang(*_args: object, **_kwargs: object) -> None:
        entered.set()
        await asyncio.sleep(3600)

    provider.book_in = hang  # type: ignore[method-assign]
    task = asyncio.create_task(chat.tap(chat.data_of("✅ Confirm")))
    await asyncio.wait_for(entered.wait(), 10)
    return task


async def test_commands_are_answered_while_a_confirmation_is_in_progress(
    clocked: tuple[Services, Clock],
) -> None:
    services, _ = clocked
    async with running_bot(services) as chat:
        await book_haircut(chat)
        hanging = await confirm_that_hangs(chat, services)
        try:
            sent = len(chat.texts())
            await chat.send("/help")
            assert IN_PROGRESS in chat.text and "/mybookings" in chat.text
            await chat.send("/mybookings")
            assert IN_PROGRESS in chat.text
            assert "You have no upcoming appointments" in chat.text
            await chat.send("Anna")
            assert IN_PROGRESS in chat.text
            assert len(chat.texts()) == sent + 3, "every update got a reply"
            assert all(not c.params.get("reply_markup") for c in chat.calls("sendMessage")[-3:])
        finally:
            hanging.cancel()


async def test_the_old_confirm_button_never_books_again_after_the_grace(
    clocked: tuple[Services, Clock],
) -> None:
    services, clock = clocked
    provider = services.providers["sample-salon"]
    real_book_in = provider.book_in
    async with running_bot(services) as chat:
        await book_haircut(chat)
        confirm = chat.data_of("✅ Confirm")
        hanging = await confirm_that_hangs(chat, services)
        checkpointed = await stored_state(services)
        assert "menu" not in checkpointed, "the tapped menu is used up by the checkpoint"
        hanging.cancel()  # the process died while booking
        with pytest.raises(asyncio.CancelledError):
            await hanging

        provider.book_in = real_book_in  # type: ignore[method-assign]
        clock.now += timedelta(minutes=3)  # past the confirming grace
        await chat.tap(confirm)
        assert await count(services, LocalAppointment) == 0, "the old button booked again"
        assert "did not go through: nothing was booked" in chat.text
        assert "Please check your booking" in chat.text, "the user is back at the summary"
        await chat.tap(confirm)
        assert await count(services, LocalAppointment) == 0
        assert chat.calls("answerCallbackQuery")[-1].params.get("text") == "This menu has expired."

        await chat.press("✅ Confirm")
        assert "Booked!" in chat.text
    assert await count(services, LocalAppointment) == 1
    assert await count(services, Booking) == 1
