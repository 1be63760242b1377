"""A whole booking with the built-in calendar, through the real Application."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.services import Services
from storage.models import Booking, Fiche, LocalAppointment
from tests.bot.harness import running_bot


async def book_haircut(chat, phone_by_contact: bool = True) -> None:  # type: ignore[no-untyped-def]
    await chat.send("/book")
    await chat.press("Haircut · 30 min · €25.00")
    await chat.press("Anna")
    await chat.press_first_day()
    await chat.press_first_time()
    await chat.send("Anna")
    await chat.send("Martin")
    if phone_by_contact:
        await chat.share_contact("33612345678")
    else:
        await chat.send("+33 6 12 34 56 78")
    await chat.send("anna@example.org")


async def test_whole_booking_edits_menus_in_place_and_stores_the_booking(
    services: Services,
) -> None:
    async with running_bot(services) as chat:
        await book_haircut(chat)
        assert "Please check your booking" in chat.text
        assert "Haircut" in chat.text and "Anna" in chat.text and "€25.00" in chat.text
        await chat.press("✅ Confirm")
        assert "Booked!" in chat.text
        assert "/mybookings" in chat.text
        assert "Europe/Paris" in chat.text
        # menus were edited in place after each tap
        assert len(chat.calls("editMessageText")) >= 4
    async with services.sessions() as session:
        booking = (await session.scalars(select(Booking))).one()
        assert booking.service_name == "Haircut"
        assert booking.resource_name == "Anna"
        assert booking.status == "confirmed"
        fiche = (await session.scalars(select(Fiche))).one()
        assert (fiche.first_name, fiche.phone, fiche.email) == (
            "Anna",
            "+33612345678",
            "anna@example.org",
        )
        assert await session.scalar(select(func.count()).select_from(LocalAppointment)) == 1


async def _stored_booking_state(services: Services, user_id: int = 42) -> dict[str, object]:
    from storage.models import Conversation

    async with services.sessions() as session:
        data = await session.scalar(
            select(Conversation.data).where(Conversation.user_id == user_id)
        )
    assert isinstance(data, dict)
    booking = data["b"]
    assert isinstance(booking, dict)
    return booking


async def test_a_step_left_behind_keeps_nothing_it_offered_and_back_offers_it_again(
    services: Services,
) -> None:
    """The state is written on every update: the options, slots and stored people a step
    offered are dropped once the user moves past it, and Back shows them afresh."""
    async with running_bot(services) as chat:
        await book_haircut(chat)
        await chat.press("✅ Confirm")
        # a second booking: the customer step now offers the stored person
        await chat.send("/book")
        assert "opts" in await _stored_booking_state(services)
        await chat.press("Haircut · 30 min · €25.00")
        await chat.press("Anna")
        assert "opts" not in await _stored_booking_state(services)
        await chat.press_first_day()
        assert "slots" in await _stored_booking_state(services)
        await chat.press_first_time()
        state = await _stored_booking_state(services)
        assert "slots" not in state and "slot" in state
        assert "people" in state  # "Book for Anna Martin (me)?" is on screen
        await chat.press("Book for Anna Martin (me)")
        assert "Please check your booking" in chat.text
        state = await _stored_booking_state(services)
        assert not {"opts", "slots", "pick", "people"} & state.keys()
        assert state["cust"] == {  # what the booking needs is kept
            "first_name": "Anna",
            "last_name": "Martin",
            "phone": "+33612345678",
            "email": "anna@example.org",
        }
        # Back from the summary offers the stored people again, Back once more the times
        await chat.press("« Back")
        assert "Book for Anna Martin (me)" in chat.labels
        await chat.press("« Back")
        assert "Free times on" in chat.text
        await chat.press_first_time()
        assert "Book for Anna Martin (me)" in chat.labels
