"""What a booking survives: restarts, double taps, races, stale and forged buttons, bad input."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import func, select

from bot.config import AppConfig
from bot.services import Services, build_services
from storage.models import Booking, Conversation, Fiche, LocalAppointment
from tests.bot.harness import ChatDriver, running_bot
from tests.bot.test_local_booking import book_haircut


async def bookings_count(services: Services) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Booking)) or 0)


async def state_of(services: Services, user_id: int = 42) -> dict:  # type: ignore[type-arg]
    async with services.sessions() as session:
        row = (
            await session.scalars(select(Conversation).where(Conversation.user_id == user_id))
        ).one()
        return dict(row.data)


async def test_restart_mid_booking_continues_at_the_same_step(sample_config: AppConfig) -> None:
    first = await build_services(sample_config, env={})
    async with running_bot(first) as chat:
        await chat.send("/book")
        await chat.press("Haircut · 30 min · €25.00")
        await chat.press("Marc")
        await chat.press_first_day()
        menu = chat.api.last_buttons()
    await first.aclose()

    second = await build_services(sample_config, env={})
    try:
        async with running_bot(second) as chat:
            # The old menu's first time button still works after the restart.
            time_button = next(data for label, data in menu if ":" in label)
            await chat.tap(time_button)
            assert "first name" in chat.text
            state = await state_of(second)
            assert state["b"]["ch"]["service"]["labels"] == ["Haircut"]
            assert state["b"]["ch"]["staff"]["labels"] == ["Marc"]
            assert state["b"]["slot"]["resource_name"] == "Marc"
    finally:
        await second.aclose()


async def test_double_tap_on_confirm_books_once(services: Services) -> None:
    async with running_bot(services) as chat:
        await book_haircut(chat)
        confirm = chat.data_of("✅ Confirm")
        await chat.tap(confirm)
        await chat.tap(confirm)
        assert await bookings_count(services) == 1
        assert any("Booked!" in t for t in chat.texts())
        assert chat.calls("answerCallbackQuery")[-1].params.get("text") == "This menu has expired."


async def test_same_confirm_delivered_twice_concurrently_books_once(services: Services) -> None:
    async with running_bot(services) as chat:
        await book_haircut(chat)
        confirm = chat.data_of("✅ Confirm")
        await asyncio.gather(chat.tap(confirm), chat.tap(confirm))
        assert await bookings_count(services) == 1


async def test_two_customers_confirming_one_slot_get_one_booking(services: Services) -> None:
    async with running_bot(services, user_id=1) as anna, running_bot(services, user_id=2) as marc:
        for chat in (anna, marc):
            await book_haircut(chat)
        assert anna.text.split("When:")[1] == marc.text.split("When:")[1]
        await asyncio.gather(
            anna.tap(anna.data_of("✅ Confirm")), marc.tap(marc.data_of("✅ Confirm"))
        )
        texts = [anna.text, marc.text]
        assert sum("Booked!" in t for t in texts) == 1
        loser = anna if "Booked!" not in anna.text else marc
        assert "just taken" in loser.text
        assert any(":" in label for label in loser.labels), "the next free times are offered"
    async with services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(LocalAppointment)) == 1
    assert await bookings_count(services) == 1


@pytest.mark.parametrize(
    "data", ["c999.0", "c1.9999", "garbage", "c-1.0", "m:cc:1", "b:ok", "x" * 64, ""]
)
async def test_stale_or_forged_buttons_change_nothing(services: Services, data: str) -> None:
    async with running_bot(services) as chat:
        await chat.send("/book")
        await chat.press("Haircut · 30 min · €25.00")
        before = await state_of(services)
        await chat.tap(data)
        assert chat.calls("answerCallbackQuery")[-1].params.get("text") == "This menu has expired."
        after = await state_of(services)
        assert after["b"] == before["b"], "the booking in progress is untouched"
        assert "Who would you like to see?" in chat.text, "the user is shown where they are"


async def test_random_text_where_a_button_is_expected(services: Services) -> None:
    async with running_bot(services) as chat:
        await chat.send("/book")
        await chat.send("I want a haircut please")
        assert "Please use the buttons below." in chat.text
        assert "Which service would you like?" in chat.text
        await chat.press("Haircut · 30 min · €25.00")
        assert "Who would you like to see?" in chat.text


async def reach_details(chat: ChatDriver) -> None:
    await chat.send("/book")
    await chat.press("Haircut · 30 min · €25.00")
    await chat.press("Anna")
    await chat.press_first_day()
    await chat.press_first_time()


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (["x" * 5000], "That message is too long."),
        (["Anna 😀"], "A name can only contain letters"),
        (["Anna", "Martin", "12"], "does not look like a phone number"),
        (["Anna", "Martin", "061234567"], "does not look like a phone number"),
        (["Anna", "Martin", "+3361234567"], "does not look like a phone number"),
        (["Anna", "Martin", "+33612345678", "anna@"], "does not look like an email address"),
    ],
)
async def test_bad_input_keeps_the_step_and_what_was_entered(
    services: Services, answers: list[str], expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with running_bot(services) as chat:
        await reach_details(chat)
        before = await state_of(services)
        for answer in answers:
            await chat.send(answer)
        assert expected in chat.text
        state = await state_of(services)
        assert state["b"]["slot"] == before["b"]["slot"]
        assert state["b"]["ch"] == before["b"]["ch"]
        good = answers[:-1]
        kept = list(state["b"].get("cust", {}).values())
        assert [v.replace(" ", "") for v in kept[: len(good)]] == [a.replace(" ", "") for a in good]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_right_to_left_and_accented_names_are_accepted(services: Services) -> None:
    async with running_bot(services) as chat:
        await reach_details(chat)
        await chat.send("مريم")
        await chat.send("Ñúñez-O’Brien")
        await chat.send("+971501234567")
        await chat.send("maryam@example.ae")
        assert "Please check your booking" in chat.text
        assert "مريم Ñúñez-O’Brien" in chat.text
        await chat.press("✅ Confirm")
        assert "Booked!" in chat.text


async def test_back_keeps_earlier_choices_and_cancel_clears(services: Services) -> None:
    async with running_bot(services) as chat:
        await reach_details(chat)
        await chat.send("Anna")
        await chat.press("« Back")  # to the first name, asked again
        await chat.press("« Back")  # from the first detail, to the times
        assert "Free times on" in chat.text
        state = await state_of(services)
        assert state["b"]["cust"] == {"first_name": "Anna"}
        await chat.press("✖ Cancel")
        assert "Booking cancelled" in chat.text
        assert "b" not in await state_of(services)


async def test_a_user_cannot_see_or_cancel_another_users_booking(services: Services) -> None:
    async with running_bot(services, user_id=1) as owner:
        await book_haircut(owner)
        await owner.press("✅ Confirm")
    async with services.sessions() as session:
        booking_id = (await session.scalars(select(Booking.id))).one()
    async with running_bot(services, user_id=2) as intruder:
        await intruder.send("/mybookings")
        assert "no upcoming appointments" in intruder.text
        # Hand-made callback data naming the other user's booking: refused, nothing cancelled.
        for data in (f"m:cc:{booking_id}", f"c1.{booking_id}", "c2.0"):
            await intruder.tap(data)
    async with services.sessions() as session:
        assert (await session.scalars(select(Booking.status))).one() == "confirmed"


async def test_mybookings_cancel_frees_the_slot(services: Services) -> None:
    async with running_bot(services) as chat:
        await book_haircut(chat)
        await chat.press("✅ Confirm")
        await chat.send("/mybookings")
        assert "Haircut" in chat.text and "Salon Belle Rue" in chat.text
        await chat.press(__import__("re").compile("^✖ Cancel"))
        assert "Cancel Haircut on" in chat.text
        await chat.press("Yes, cancel it")
        assert "cancelled" in chat.text
    async with services.sessions() as session:
        assert (await session.scalars(select(Booking.status))).one() == "cancelled"
        assert (await session.scalars(select(LocalAppointment.status))).one() == "cancelled"
    # The same slot can be booked again.
    async with running_bot(services, user_id=7) as again:
        await book_haircut(again)
        await again.press("✅ Confirm")
        assert "Booked!" in again.text


async def test_returning_user_is_offered_their_stored_fiche(services: Services) -> None:
    async with running_bot(services) as chat:
        await book_haircut(chat)
        await chat.press("✅ Confirm")
        await reach_details(chat)
        assert "Who is this appointment for?" in chat.text
        await chat.press("Book for Anna Martin (me)")
        assert "Please check your booking" in chat.text
        assert "For: Anna Martin" in chat.text


async def test_idle_conversation_expires_and_starts_over(sample_config: AppConfig) -> None:
    from datetime import UTC, datetime, timedelta

    now = [datetime.now(UTC)]
    services = await build_services(sample_config, env={}, clock=lambda: now[0])
    try:
        async with running_bot(services) as chat:
            await chat.send("/book")
            await chat.press("Haircut · 30 min · €25.00")
            old = chat.data_of("Anna")
            now[0] += timedelta(minutes=sample_config.conversation_idle_minutes + 1)
            await chat.tap(old)
            assert "This menu has expired." == chat.calls("answerCallbackQuery")[-1].params.get(
                "text"
            )
            await chat.send("/book")
            assert "timed out" in chat.text or "Which service" in chat.text
            now[0] += timedelta(minutes=sample_config.conversation_idle_minutes + 1)
            swept = await chat.application.bot_data.engine.sweep_expired()
            assert swept == 1
    finally:
        await services.aclose()


async def test_a_user_who_keeps_going_never_times_out(sample_config: AppConfig) -> None:
    """The stored expiry only moves once it lags by a minute (storage.conversations.next_expiry):
    a user answering every 50 s for longer than the idle time must still never time out, and
    must once they stop for the idle time."""
    from datetime import UTC, datetime, timedelta

    now = [datetime(2027, 3, 1, 7, 0, tzinfo=UTC)]
    idle = timedelta(minutes=sample_config.conversation_idle_minutes)
    services = await build_services(sample_config, env={}, clock=lambda: now[0])
    try:
        async with running_bot(services) as chat:
            engine = chat.application.bot_data.engine
            await chat.send("/book")
            await chat.press("Haircut · 30 min · €25.00")
            for _ in range(int(idle / timedelta(seconds=50)) + 5):
                now[0] += timedelta(seconds=50)
                await chat.press("« Back")  # to the service list...
                await chat.press("Haircut · 30 min · €25.00")  # ...and back to the staff
                assert chat.text == "Who would you like to see?"
                assert await engine.sweep_expired() == 0
            now[0] += idle - timedelta(minutes=1)
            assert await engine.sweep_expired() == 0  # not idle long enough yet
            now[0] += timedelta(minutes=1, seconds=1)
            assert await engine.sweep_expired() == 1  # the idle time, to within a minute
    finally:
        await services.aclose()


async def test_a_user_can_delete_their_stored_details_and_only_theirs(services: Services) -> None:
    async with running_bot(services, user_id=1) as owner:
        await book_haircut(owner)
        await owner.press("✅ Confirm")
    async with services.sessions() as session:
        fiche_id = (await session.scalars(select(Fiche.id))).one()
    async with running_bot(services, user_id=2) as intruder:
        await intruder.send("/mydetails")
        assert "no stored details" in intruder.text
        await intruder.tap(f"f:dd:{fiche_id}")
    async with services.sessions() as session:
        assert (await session.scalars(select(Fiche.id))).one() == fiche_id
    async with running_bot(services, user_id=1) as owner:
        await owner.send("/mydetails")
        assert "Anna Martin (me)" in owner.text
        await owner.press("🗑 Delete Anna Martin (me)")
        await owner.press("Yes, delete them")
        assert "deleted" in owner.text
    async with services.sessions() as session:
        assert (await session.scalars(select(Fiche.id))).all() == []
        booking = (await session.scalars(select(Booking))).one()
        assert booking.status == "confirmed" and booking.fiche_id is None
