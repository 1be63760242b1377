"""The same bot with its database on PostgreSQL: a whole booking, and a race for one slot.

Each test gets a fresh PostgreSQL database (``tests/storage/postgres.py``); without a server
they are skipped, or fail under ``CI=true``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.config import AppConfig
from bot.services import Services, build_services
from storage.models import Booking, Conversation, Fiche, LocalAppointment, LocalSlotClaim
from tests.bot.harness import running_bot
from tests.bot.test_local_booking import book_haircut
from tests.storage.postgres import postgres_url

__all__ = ["postgres_url"]  # the fixture, imported so pytest finds it here


@pytest.fixture
async def pg_services(sample_config: AppConfig, postgres_url: str) -> AsyncIterator[Services]:
    """The sample business's services, migrated onto a fresh PostgreSQL database."""
    built = await build_services(
        sample_config.model_copy(update={"database_url": postgres_url}), env={}
    )
    assert built.engine.dialect.name == "postgresql"
    yield built
    await built.aclose()


async def count(services: Services, model: type[object]) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_whole_local_booking_on_postgresql(pg_services: Services) -> None:
    async with running_bot(pg_services) as chat:
        await book_haircut(chat)
        assert "Please check your booking" in chat.text
        await chat.press("✅ Confirm")
        assert "Booked!" in chat.text
        assert "Haircut" in chat.text and "Anna" in chat.text and "€25.00" in chat.text
    async with pg_services.sessions() as session:
        booking = (await session.scalars(select(Booking))).one()
        assert (booking.service_name, booking.resource_name, booking.status) == (
            "Haircut",
            "Anna",
            "confirmed",
        )
        assert booking.start_at.tzinfo is not None, "times come back time-zone aware"
        fiche = (await session.scalars(select(Fiche))).one()
        assert (fiche.first_name, fiche.last_name, fiche.phone, fiche.email) == (
            "Anna",
            "Martin",
            "+33612345678",
            "anna@example.org",
        )
        appointment = (await session.scalars(select(LocalAppointment))).one()
        assert appointment.start_at == booking.start_at
        assert str(appointment.id) == booking.provider_ref


async def test_two_customers_confirming_one_slot_on_postgresql_get_one_booking(
    pg_services: Services,
) -> None:
    async with (
        running_bot(pg_services, user_id=1) as anna,
        running_bot(pg_services, user_id=2) as marc,
    ):
        for chat in (anna, marc):
            await book_haircut(chat)
        assert anna.text.split("When:")[1] == marc.text.split("When:")[1], "the same slot"
        await asyncio.gather(
            anna.tap(anna.data_of("✅ Confirm")), marc.tap(marc.data_of("✅ Confirm"))
        )
        assert sum("Booked!" in chat.text for chat in (anna, marc)) == 1
        loser = marc if "Booked!" in anna.text else anna
        assert "just taken" in loser.text
        assert any(":" in label for label in loser.labels), "the next free times are offered"
    assert await count(pg_services, LocalAppointment) == 1
    assert await count(pg_services, Booking) == 1
    # The loser's claim rows were rolled back with its appointment: nothing half-written.
    async with pg_services.sessions() as session:
        claimed_by = set(await session.scalars(select(LocalSlotClaim.appointment_id)))
        assert claimed_by == set(await session.scalars(select(LocalAppointment.id)))


async def test_one_confirm_delivered_twice_at_once_on_postgresql_books_once(
    pg_services: Services,
) -> None:
    async with running_bot(pg_services) as chat:
        await book_haircut(chat)
        confirm = chat.data_of("✅ Confirm")
        await asyncio.gather(chat.tap(confirm), chat.tap(confirm))
        # The customer is told they are booked, never that their own slot "was just taken".
        assert "Booked!" in chat.text
        assert not any("just taken" in text for text in chat.texts())
        answers = {call.params.get("text") for call in chat.calls("answerCallbackQuery")}
        assert answers & {"This booking is already being confirmed.", "This menu has expired."}
    assert await count(pg_services, LocalAppointment) == 1
    assert await count(pg_services, Booking) == 1
    async with pg_services.sessions() as session:
        state = (await session.scalars(select(Conversation.data))).one()
        assert "b" not in state, "the finished booking is not left in progress"
