"""The reminder's "Reschedule" button: it walks the booking's owner to the date step of the same
booking, and the confirmed new time moves the booking, the calendar and the reminders; anyone
else's tap is refused and changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.config import AppConfig
from bot.services import Services, build_services
from providers.base import ProviderUnavailable
from storage.delivery_models import Delivery
from storage.models import Booking, LocalAppointment
from tests.bot.harness import ChatDriver, running_bot

MONDAY_MORNING = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


@pytest.fixture
async def monday_services(sample_config: AppConfig) -> AsyncIterator[Services]:
    built = await build_services(sample_config, env={}, clock=lambda: MONDAY_MORNING)
    yield built
    await built.aclose()


async def press_day(chat: ChatDriver, index: int) -> None:
    days = [(text, data) for text, data in chat.api.last_buttons() if text.isdigit()]
    assert len(days) > index, chat.labels
    await chat.tap(days[index][1])


async def book(chat: ChatDriver, services: Services, day_index: int) -> Booking:
    """Book a haircut on the ``day_index``-th selectable day; the stored booking."""
    await chat.send("/book")
    await chat.press("Haircut · 30 min · €25.00")
    await chat.press("Anna")
    await press_day(chat, day_index)
    await chat.press_first_time()
    await chat.send("Anna")
    await chat.send("Martin")
    await chat.send("+33 6 12 34 56 78")
    await chat.send("anna@example.org")
    await chat.press("✅ Confirm")
    assert "Booked!" in chat.text
    async with services.sessions() as session:
        return (await session.scalars(select(Booking))).one()


async def test_reschedule_button_moves_the_booking_and_its_reminders(
    monday_services: Services,
) -> None:
    services = monday_services
    async with running_bot(services) as chat:
        booking = await book(chat, services, day_index=2)
        old_start = booking.start_at

        # A stranger taps the same button with the owner's booking id: refused.
        async with running_bot(services, user_id=77) as stranger:
            await stranger.tap(f"dr:r:{booking.id}")
            alerts = [c.params.get("text") for c in stranger.calls("answerCallbackQuery")]
            assert "This button is not for you." in alerts
            # a refusal is a dialog to close, not a passing notice
            [refusal] = stranger.calls("answerCallbackQuery")
            assert refusal.params.get("show_alert") is True
            assert not stranger.calls("editMessageText") and not stranger.calls("sendMessage")

        await chat.tap(f"dr:r:{booking.id}", message_id=900)
        assert chat.text.startswith("Pick the new day for your appointment.")
        await press_day(chat, 4)
        await chat.press_first_time()
        # Who it is for is not asked again: straight to the new time's summary.
        assert chat.text.startswith("Please check the new time:")
        await chat.press("✅ Confirm")
        assert chat.text.startswith("✅ Your new time is confirmed.")

    async with services.sessions() as session:
        moved = (await session.scalars(select(Booking))).one()
        appointment = (await session.scalars(select(LocalAppointment))).one()
        reminders = list(
            await session.scalars(
                select(Delivery).where(Delivery.booking_id == moved.id).order_by(Delivery.id)
            )
        )
    assert moved.id == booking.id and moved.status == "confirmed"
    assert moved.start_at > old_start
    assert appointment.start_at == moved.start_at and appointment.status == "confirmed"
    pending = sorted((r.offset_minutes, r.due_at) for r in reminders if r.status == "pending")
    assert pending == [
        (120, moved.start_at - timedelta(minutes=120)),
        (1440, moved.start_at - timedelta(minutes=1440)),
    ]
    withdrawn = [r for r in reminders if r.status == "cancelled"]
    assert sorted(r.due_at for r in withdrawn) == [
        old_start - timedelta(minutes=1440),
        old_start - timedelta(minutes=120),
    ]
    assert {r.last_error for r in withdrawn} == {"rescheduled"}


async def test_back_on_the_first_step_of_a_reschedule_does_not_offer_another_service(
    monday_services: Services,
) -> None:
    """A reschedule starts at the date step with the service and staff already settled: Back
    there has nothing earlier to go to, so it cannot lead to booking another service."""
    async with running_bot(monday_services) as chat:
        booking = await book(chat, monday_services, day_index=2)
        await chat.tap(f"dr:r:{booking.id}", message_id=900)
        assert chat.text.startswith("Pick the new day for your appointment.")
        assert "« Back" not in chat.labels and "✖ Cancel" in chat.labels
        await press_day(chat, 4)
        assert "Free times on" in chat.text
        await chat.press("« Back")  # from the times back to the calendar, as usual
        assert any(label.isdigit() for label in chat.labels)


async def test_platform_down_during_a_reminders_reschedule_tells_the_user(
    monday_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reminder's Reschedule goes through the engine's one entry, so a platform that stops
    answering gets the same "not answering" screen as anywhere in a booking (it used to escape
    to the error log, and the user saw nothing)."""
    services = monday_services
    async with running_bot(services) as chat:
        booking = await book(chat, services, day_index=2)
        provider = services.providers["sample-salon"]

        async def down(*_args: object) -> set[object]:
            raise ProviderUnavailable(detail="connection refused")

        monkeypatch.setattr(provider, "available_days", down)
        await chat.tap(f"dr:r:{booking.id}", message_id=900)
        assert "The booking system is not answering right now." in chat.text
        assert "↻ Retry" in chat.labels
        monkeypatch.undo()
        await chat.press("↻ Retry")
        assert any(label.isdigit() for label in chat.labels)  # the new day's calendar


async def test_a_reminders_reschedule_speaks_the_configured_default_language(
    sample_config: AppConfig,
) -> None:
    """A user whose Telegram language the bot does not speak gets the configured default
    language from a reminder's button, as from every other update."""
    config = sample_config.model_copy(update={"default_language": "fr"})
    services = await build_services(config, env={}, clock=lambda: MONDAY_MORNING)
    try:
        async with running_bot(services) as chat:
            booking = await book(chat, services, day_index=2)
        async with running_bot(services, language="ja") as chat:
            await chat.tap(f"dr:r:{booking.id}", message_id=900)
            assert chat.text.startswith("Choisissez le nouveau jour de votre rendez-vous.")
    finally:
        await services.aclose()


def keyboard_of(chat: ChatDriver) -> list[list[str]]:
    """The callback data of the newest keyboard put under the reminder in place."""
    markup = chat.calls("editMessageReplyMarkup")[-1].params.get("reply_markup")
    if not markup:
        return []
    return [[b["callback_data"] for b in row] for row in markup["inline_keyboard"]]


async def test_a_reminders_cancel_asks_in_place_then_cancels_through_the_engine(
    monday_services: Services,
) -> None:
    services = monday_services
    async with running_bot(services) as chat:
        booking = await book(chat, services, day_index=2)
        n = booking.id
        await chat.tap(f"dr:c:{n}", message_id=900)
        assert keyboard_of(chat) == [[f"dr:C:{n}"], [f"dr:k:{n}"]]
        await chat.tap(f"dr:k:{n}", message_id=900)
        assert keyboard_of(chat) == [[f"dr:y:{n}"], [f"dr:r:{n}"], [f"dr:c:{n}"]]
        await chat.tap(f"dr:y:{n}", message_id=900)
        thanks = chat.calls("answerCallbackQuery")[-1].params
        assert thanks["text"] == "Thank you, see you then!" and "show_alert" not in thanks
        assert keyboard_of(chat) == [[f"dr:r:{n}"], [f"dr:c:{n}"]]
        await chat.tap(f"dr:C:{n}", message_id=900)
        assert chat.text == "Your appointment has been cancelled."
        assert keyboard_of(chat) == []
        await chat.tap(f"dr:y:{n}", message_id=900)
        alert = chat.calls("answerCallbackQuery")[-1].params["text"]
        assert alert == "This appointment is no longer active."
    async with services.sessions() as session:
        cancelled = (await session.scalars(select(Booking))).one()
        appointment = (await session.scalars(select(LocalAppointment))).one()
        reminders = set(
            await session.scalars(select(Delivery.status).where(Delivery.booking_id == n))
        )
    # one cancel path: the platform's calendar (here the local one) and our mirror agree
    assert cancelled.status == "cancelled" and appointment.status == "cancelled"
    assert reminders == {"cancelled"}
