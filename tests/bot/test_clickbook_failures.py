"""ClickBook failing under a booking in progress: a SOAP fault, a timeout, an HTTP 500 give a
clear message and Retry, the place is kept, and a booking request whose answer never came is
looked up on ClickBook before it is ever sent again."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bot.clickbook_world import (
    BOOKED,
    CHECK_PROMPT,
    choose_time,
    choose_to_date,
    clickbook_world,
    sign_in,
)
from tests.bot.harness import ChatDriver

NOT_ANSWERED = "The booking system did not answer"
NOT_ANSWERING = "The booking system is not answering right now. Your choices are kept."


async def to_confirm(chat: ChatDriver) -> str:
    await choose_to_date(chat)
    label = await choose_time(chat)
    await sign_in(chat)
    await chat.press("Book for Anna Martin")
    assert CHECK_PROMPT in chat.text
    return label


@pytest.mark.parametrize("mode", ["fault", "timeout", "error", "unavailable"])
async def test_a_failed_confirm_says_so_offers_retry_and_books_once_after_a_look_up(
    database_url: str, tmp_path: Path, mode: str
) -> None:
    async with clickbook_world(database_url, tmp_path) as world:
        fake = world.fake
        async with world.chat() as chat:
            label = await to_confirm(chat)
            fake.control.fail_next(mode, 1)
            await chat.press("✅ Confirm")
            assert NOT_ANSWERED in "\n".join(chat.texts()[-2:])
            assert "↻ Retry" in chat.labels
            assert fake.count("BOOKTIMESLOT") == 1  # sent once, never repeated by itself
            await chat.press("↻ Retry")
            assert BOOKED in chat.text and label in chat.text, chat.text
        # Before sending the booking again, the adapter looked for it on ClickBook.
        calls = [r.operation for r in fake.requests if r.operation]
        assert calls[-3:] == ["BOOKTIMESLOT", "GETBOOKINGS", "BOOKTIMESLOT"], calls
        assert len(fake.world.live_bookings()) == 1


async def test_a_booking_made_but_whose_answer_was_lost_is_found_not_booked_twice(
    database_url: str, tmp_path: Path
) -> None:
    async with clickbook_world(database_url, tmp_path) as world:
        fake = world.fake
        async with world.chat() as chat:
            await to_confirm(chat)
            fake.control.fail_next("lost", 1)
            await chat.press("✅ Confirm")
            assert NOT_ANSWERED in "\n".join(chat.texts()[-2:])
            await chat.press("↻ Retry")
            assert BOOKED in chat.text, chat.text
        assert fake.count("BOOKTIMESLOT") == 1
        assert len(fake.world.live_bookings()) == 1
        assert [b.provider_ref for b in await world.bookings()] == [
            fake.world.live_bookings()[0].id
        ]


@pytest.mark.parametrize("mode", ["fault", "timeout", "error"])
async def test_a_failed_read_keeps_the_place_and_retry_shows_the_same_step(
    database_url: str, tmp_path: Path, mode: str
) -> None:
    async with clickbook_world(database_url, tmp_path) as world:
        async with world.chat() as chat:
            await choose_to_date(chat)
            # A timed-out read is retried by the adapter first (three attempts); a fault or a
            # plain 500 is not (the request itself upsets the platform).
            world.fake.control.fail_next(mode, 3 if mode == "timeout" else 1)
            await chat.press("⚡ Earliest available")
            assert NOT_ANSWERING in "\n".join(chat.texts()[-2:])
            await chat.press("↻ Retry")
            assert "Pick a day" in chat.text or "Free times on" in chat.text, chat.text
            state = await world.state()
            assert set(state["b"]["ch"]) == {"location", "service", "staff"}
