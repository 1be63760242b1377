"""What a first customer runs into: cancelling a Change, "No, keep it", /book in the middle of a
booking, unknown businesses and commands."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.services import Services
from storage.models import Booking
from tests.bot.harness import running_bot
from tests.bot.test_local_booking import book_haircut


async def test_cancelling_a_change_says_the_appointment_is_kept(services: Services) -> None:
    async with running_bot(services) as chat:
        await book_haircut(chat)
        await chat.press("✅ Confirm")
        await chat.send("/mybookings")
        await chat.press(re.compile("^↻ Change"))
        assert "Pick the new day" in chat.text
        await chat.press("✖ Cancel")
        assert "Booking cancelled" not in chat.text
        assert "your appointment is kept" in chat.text
        # /cancel says the same during a Change
        await chat.send("/mybookings")
        await chat.press(re.compile("^↻ Change"))
        await chat.send("/cancel")
        assert "your appointment is kept" in chat.text
    async with services.sessions() as session:
        assert (await session.scalars(select(Booking.status))).one() == "confirmed"


async def test_no_keep_it_in_mybookings_lists_the_appointment_again(services: Services) -> None:
    async with running_bot(services) as chat:
        await book_haircut(chat)
        await chat.press("✅ Confirm")
        await chat.send("/mybookings")
        await chat.press(re.compile("^✖ Cancel"))
        await chat.press("No, keep it")
        assert "not in your bookings" not in chat.text
        assert "Your appointment is kept." in chat.text
        assert "Your upcoming appointments:" in chat.text
        assert any(label.startswith("✖ Cancel") for label in chat.labels)
    async with services.sessions() as session:
        assert (await session.scalars(select(Booking.status))).one() == "confirmed"


async def test_book_during_a_booking_asks_to_continue_or_start_over(services: Services) -> None:
    async with running_bot(services) as chat:
        await chat.send("/book")
        await chat.press("Haircut · 30 min · €25.00")
        await chat.press("Anna")
        await chat.send("/book")
        assert "Continue it, or start over?" in chat.text
        await chat.press("Continue my booking")
        assert any(label.isdigit() for label in chat.labels)  # still at the calendar
        await chat.send("/book")
        await chat.press("Start over")
        assert "Haircut · 30 min · €25.00" in chat.labels  # back at the first step
        await chat.send("/book")  # nothing answered yet: nothing to lose, nothing asked
        assert "Haircut · 30 min · €25.00" in chat.labels


async def test_start_with_an_unknown_business_says_so(services: Services) -> None:
    async with running_bot(services) as chat:
        await chat.send("/start no-such-salon")
        assert "That link names no business I know." in chat.text
        assert "Haircut · 30 min · €25.00" in chat.labels  # the known one is offered
        await chat.send("/start sample-salon")
        assert "names no business" not in chat.text


async def test_an_unknown_command_says_so_and_points_to_help(services: Services) -> None:
    async with running_bot(services) as chat:
        await chat.send("/frobnicate")
        assert "I do not know that command. Send /help" in chat.text
        # during a booking the step in progress is shown again
        await chat.send("/book")
        await chat.press("Haircut · 30 min · €25.00")
        await chat.send("/frobnicate")
        assert "I do not know that command" in chat.text
        assert "Anna" in chat.labels
        await chat.send("/help")
        assert "I do not know that command" not in chat.text
