"""ClickBook failing under a booking in progress: a SOAP fault, a timeout, an HTTP 500 give a
clear message and Retry, the place is kept, and a booking request whose answer never came is
looked up on ClickBook before it is ever sent again: the Confirm's booking intent, settled by
the engine through the adapter's ``find_booking`` (on Retry, by the sweep, after a restart)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.bot.clickbook_world import (
    SIGN_IN_SCREEN,
    SLUG,
    choose_to_date,
    clickbook_world,
    sign_in,
    staff_to_confirm,
    to_confirm,
)
from tests.bot.harness import ChatDriver
from tests.bot.signed_in_steps import (
    BOOKED,
)
from tests.fakes.clickbook import FakeClickbook

NOT_ANSWERED = "The booking system did not answer"
NOT_ANSWERING = "The booking system is not answering right now. Your choices are kept."
WENT_THROUGH = "✅ Your last confirmation went through: "
UNKNOWN_OUTCOME = (
    "We could not find out whether your last confirmation went through. "
    "Please check with the business before you book again."
)


async def confirm_unanswered(
    chat: ChatDriver, fake: FakeClickbook, mode: str = "lost", operation: str | None = None
) -> None:
    """Tap Confirm with ClickBook failing the next call (``operation``'s, else any) in ``mode``
    (``lost``: done, its answer lost): the user is told the booking system did not answer."""
    fake.control.fail_next(mode, 1, operation)
    await chat.press("✅ Confirm")
    assert NOT_ANSWERED in "\n".join(chat.texts()[-2:])


@pytest.mark.parametrize("mode", ["fault", "timeout", "error", "unavailable"])
async def test_a_failed_confirm_says_so_offers_retry_and_books_once_after_a_look_up(
    database_url: str, tmp_path: Path, mode: str
) -> None:
    async with clickbook_world(database_url, tmp_path) as world:
        fake = world.fake
        async with world.chat() as chat:
            label = await to_confirm(chat)
            await confirm_unanswered(chat, fake, mode)
            assert "↻ Retry" in chat.labels
            assert fake.count("BOOKTIMESLOT") == 1  # sent once, never repeated by itself
            await chat.press("↻ Retry")
            assert BOOKED in chat.text and label in chat.text, chat.text
        # Before the booking was sent again, the engine's intent looked for it on ClickBook.
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
            await confirm_unanswered(chat, fake)
            await chat.press("↻ Retry")
            assert WENT_THROUGH + "Massage on" in chat.text, chat.text
            await chat.send("/mybookings")
            assert "Massage" in chat.text, chat.text
        assert fake.count("BOOKTIMESLOT") == 1
        assert len(fake.world.live_bookings()) == 1
        (made,) = fake.world.live_bookings()
        assert [(b.provider_ref, b.status) for b in await world.bookings()] == [
            (made.id, "confirmed")
        ]
        assert await world.notices() == []  # told in the chat, not again by the outbox


async def test_staff_whose_booking_answer_was_lost_finds_it_in_the_new_client_file(
    database_url: str, tmp_path: Path
) -> None:
    """The client file was created in the lost Confirm's turn: the lookup finds it by the
    client's email (creating nothing) and the booking in its context."""
    async with clickbook_world(database_url, tmp_path) as world:
        fake = world.fake
        async with world.chat() as chat:
            await staff_to_confirm(chat)
            await confirm_unanswered(chat, fake, operation="BOOKTIMESLOT")
            await chat.press("↻ Retry")
            assert WENT_THROUGH in chat.text, chat.text
        (file_id,) = fake.world.client_files
        (made,) = fake.world.live_bookings()
        assert made.context_id == file_id
        assert fake.count("BOOKTIMESLOT") == 1 and fake.count("SETUSERFIELDS") == 1
        lookups = [r.body for r in fake.requests if r.operation == "GETBOOKINGS"]
        assert len(lookups) == 1 and f"<CONTEXTID>{file_id}</CONTEXTID>".encode() in lookups[0]
        assert [b.provider_ref for b in await world.bookings()] == [made.id]
        assert [f.provider_ref for f in await world.fiches()] == [file_id]


async def test_a_lost_answer_nobody_retries_is_settled_by_the_sweep_and_told(
    database_url: str, tmp_path: Path
) -> None:
    async with clickbook_world(database_url, tmp_path) as world:
        fake = world.fake
        async with world.chat() as chat:
            await to_confirm(chat)
            await confirm_unanswered(chat, fake)
            world.advance(minutes=3)  # past the confirming grace: the user has gone
            await chat.application.bot_data.engine.sweep_expired()
            (told,) = await world.notices()
            assert told.startswith(WENT_THROUGH + "Massage on"), told
            (made,) = fake.world.live_bookings()
            assert [b.provider_ref for b in await world.bookings()] == [made.id]

            await chat.press("↻ Retry")  # the old button: already settled, not booked again
            answered = chat.calls("answerCallbackQuery")[-1].params
            assert answered.get("text") == "This menu has expired."
        assert fake.count("BOOKTIMESLOT") == 1
        assert len(fake.world.live_bookings()) == 1
        assert len(await world.bookings()) == 1


async def test_after_a_restart_the_sweep_says_honestly_it_does_not_know(
    database_url: str, tmp_path: Path
) -> None:
    """The ClickBook session is kept in memory only: after a restart nothing can be looked up,
    so the intent is settled as unknown and the user told so, not told it failed."""
    async with clickbook_world(database_url, tmp_path) as world:
        fake = world.fake
        async with world.chat() as chat:
            await to_confirm(chat)
            await confirm_unanswered(chat, fake)
        services = await world.restart()
        world.advance(minutes=3)
        async with world.chat() as back:
            await back.application.bot_data.engine.sweep_expired()
        assert services.providers[SLUG] is world.provider
        assert await world.notices() == [UNKNOWN_OUTCOME]
        assert fake.count("GETBOOKINGS") == 0  # no session: nothing was asked
        assert len(fake.world.live_bookings()) == 1 and await world.bookings() == []


async def test_after_a_restart_a_retry_signs_in_again_and_is_not_booked_twice(
    database_url: str, tmp_path: Path
) -> None:
    """The user, warned that ClickBook did not answer, taps Retry after a restart: the lost
    Confirm cannot be looked up (no session), so the Retry goes ahead as they decided, asks
    them to sign in again, and ClickBook's answer ("no longer free") is told for what it may
    mean."""
    async with clickbook_world(database_url, tmp_path) as world:
        fake = world.fake
        async with world.chat() as chat:
            await to_confirm(chat)
            await confirm_unanswered(chat, fake)
            retry, menu = chat.data_of("↻ Retry"), chat.api.last_menu_message_id()
        await world.restart()
        async with world.chat() as back:
            await back.tap(retry, message_id=menu)
            assert SIGN_IN_SCREEN in back.text, back.text
            await sign_in(back)
            await back.press("Book for Anna Martin")
            await back.press("✅ Confirm")
            assert "Your earlier confirmation may have gone through" in back.text, back.text
        assert len(fake.world.live_bookings()) == 1
        assert await world.bookings() == []


async def test_a_process_that_died_inside_confirm_is_told_as_unknown_when_the_user_returns(
    database_url: str, tmp_path: Path
) -> None:
    """The process dies while BOOKTIMESLOT is on its way (the turn never stores its reply):
    after the restart the user's next message settles the intent. Without the in-memory
    ClickBook session it cannot be looked up, and the user is told so."""
    async with clickbook_world(database_url, tmp_path) as world:
        fake = world.fake
        async with world.chat() as chat:
            await to_confirm(chat)
            fake.control.latency_ms = 60_000.0
            confirm = asyncio.create_task(chat.press("✅ Confirm"))
            for _ in range(500):
                if fake.count("BOOKTIMESLOT"):
                    break
                await asyncio.sleep(0.01)
            assert fake.count("BOOKTIMESLOT") == 1
            confirm.cancel()  # the process dies here
            with pytest.raises(asyncio.CancelledError):
                await confirm
            fake.control.latency_ms = 0.0
        await world.restart()
        world.advance(minutes=3)  # past the confirming grace
        async with world.chat() as back:
            await back.send("/mybookings")
            assert UNKNOWN_OUTCOME in back.texts()[0], back.texts()
            await back.application.bot_data.engine.sweep_expired()
        assert await world.notices() == []  # told once, in the chat
        assert fake.count("BOOKTIMESLOT") == 1 and await world.bookings() == []


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
