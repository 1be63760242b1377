"""Booking with a ClickBook business through the real Application, against the fake ClickBook
SOAP server: the catalog from the 3P API, the sign-in in the chat (the password message deleted
at once), the booking through the Private API."""

from __future__ import annotations

from pathlib import Path

from providers.base import Selection
from tests.bot.clickbook_world import (
    EMAIL,
    PASSWORD,
    SIGN_IN_SCREEN,
    book_as_customer,
    choose_to_date,
    clickbook_world,
    deleted,
    sign_in,
    to_confirm,
)
from tests.bot.harness import ChatDriver
from tests.bot.signed_in_steps import (
    BOOKED,
    CHECK_PROMPT,
    PASSWORD_PROMPT,
    WHO_PROMPT,
    choose_time,
    send_message,
)


async def test_a_returning_customer_signs_in_and_books(database_url: str, tmp_path: Path) -> None:
    async with clickbook_world(database_url, tmp_path) as world:
        async with world.chat() as chat:
            await choose_to_date(chat)
            label = await choose_time(chat)
            message_id = await sign_in(chat)
            assert deleted(chat, message_id), "the password message must be deleted"
            assert f"Signed in as {EMAIL}" in chat.text
            # The account's own details, from ClickBook: one tap.
            assert WHO_PROMPT in chat.text
            await chat.press("Book for Anna Martin")
            assert CHECK_PROMPT in chat.text and "Anna Martin" in chat.text
            await chat.press("✅ Confirm")
            assert BOOKED in chat.text, chat.text
            assert label in chat.text and "Massage" in chat.text

        live = world.fake.world.live_bookings()
        assert [(b.email, b.service_id, b.context_id) for b in live] == [(EMAIL, "S1", "")]
        bookings = await world.bookings()
        assert [b.provider_ref for b in bookings] == [live[0].id]
        assert PASSWORD not in str(await world.state())


async def test_a_locked_account_is_told_apart_from_a_wrong_password(
    database_url: str, tmp_path: Path
) -> None:
    async with clickbook_world(database_url, tmp_path) as world:
        async with world.chat() as chat:
            await choose_to_date(chat)
            await choose_time(chat)
            await sign_in(chat, password="Wrong-1")
            assert "The email or password was not accepted" in chat.text
            # Two more wrong passwords lock the account on ClickBook.
            for attempt in ("Wrong-2", "Wrong-3", PASSWORD):
                await send_message_at_password(chat, attempt)
            assert "locked" in chat.text and "not accepted" not in chat.text, chat.text
        assert world.fake.world.accounts[EMAIL].locked
        assert not world.fake.world.live_bookings()


async def send_message_at_password(chat: ChatDriver, password: str) -> None:
    """At the sign-in step after a refusal: the email again if asked, then ``password``."""
    if "Please type your email address." in chat.text:
        await chat.send(EMAIL)
    assert PASSWORD_PROMPT in chat.text, chat.text
    await send_message(chat, password)


async def test_a_session_that_expires_mid_flow_asks_to_sign_in_again_and_keeps_the_choices(
    database_url: str, tmp_path: Path
) -> None:
    async with clickbook_world(database_url, tmp_path) as world:
        async with world.chat() as chat:
            label = await to_confirm(chat)
            world.fake.world.expire_sessions()  # Domino forgets the session
            await chat.press("✅ Confirm")
            assert "Please sign in again" in "\n".join(chat.texts()[-2:])
            assert SIGN_IN_SCREEN in chat.text
            await sign_in(chat)
            await chat.press("Book for Anna Martin")
            # Location, service, staff and time are all still there.
            assert CHECK_PROMPT in chat.text and label in chat.text and "Massage" in chat.text
            await chat.press("✅ Confirm")
            assert BOOKED in chat.text
        assert len(world.fake.world.live_bookings()) == 1


async def test_mybookings_cancels_on_clickbook_and_signs_in_first_when_the_session_is_gone(
    database_url: str, tmp_path: Path
) -> None:
    async with clickbook_world(database_url, tmp_path) as world:
        async with world.chat() as chat:
            for _ in range(2):
                await book_as_customer(chat)
            first, second = world.fake.world.live_bookings()
            await chat.send("/mybookings")
            assert not any(label.startswith("↻ Change") for label in chat.labels)
            await chat.press(next(x for x in chat.labels if x.startswith("✖ Cancel")))
            await chat.press("Yes, cancel it")
            assert "cancelled" in chat.text
            assert world.fake.world.bookings[first.id].cancelled

            world.provider.client.forget("tg:42")  # as a restart would
            await chat.send("/mybookings")
            await chat.press(next(x for x in chat.labels if x.startswith("✖ Cancel")))
            await chat.press("Yes, cancel it")
            assert "Please sign in again." in chat.text, chat.text
            assert not world.fake.world.bookings[second.id].cancelled
            await chat.send(EMAIL)
            assert PASSWORD_PROMPT in chat.text
            password = await send_message(chat, PASSWORD)
            assert deleted(chat, password)
            assert "Your appointment is cancelled." in chat.text
            assert world.fake.world.bookings[second.id].cancelled
        assert [b.status for b in await world.bookings()] == ["cancelled", "cancelled"]


async def test_without_a_provider_id_the_customer_picks_the_provider_first(
    database_url: str, tmp_path: Path
) -> None:
    from tests.bot.clickbook_world import SLUG

    async with clickbook_world(database_url, tmp_path) as world:
        provider = world.provider
        provider.settings = provider.settings.model_copy(update={"provider_id": None})
        async with world.chat() as chat:
            await chat.send("/book")
            # One provider in the directory: chosen without asking, then the locations.
            assert "Where would you like to go?" in chat.text, chat.text
        steps = await provider.flow(Selection(user_key="tg:42"))
        assert steps[0].key == "provider"
        options = await provider.options("provider", Selection())
        assert [(o.id, o.label) for o in options] == [("P100", "Studio Zen")]
        assert world.services.providers[SLUG] is provider


async def test_booking_for_someone_else_keeps_the_customers_own_record_apart(
    database_url: str, tmp_path: Path
) -> None:
    async with clickbook_world(database_url, tmp_path) as world:
        async with world.chat() as chat:
            await choose_to_date(chat)
            await choose_time(chat)
            await sign_in(chat)
            await chat.press("➕ Someone else")
            for answer in ("Hugo", "Martin", "+33 6 98 76 54 32", "hugo@example.org"):
                await chat.send(answer)
            await chat.send("my son")
            await chat.press("✅ Confirm")
            assert BOOKED in chat.text
            await choose_to_date(chat)
            await choose_time(chat)
            await sign_in(chat)
            people = [label for label in chat.labels if label.startswith("Book for")]
            assert people == ["Book for Hugo Martin (my son)", "Book for Anna Martin"]


async def test_a_cancel_answered_not_found_is_said_done_only_when_the_lookup_shows_it_gone(
    database_url: str, tmp_path: Path
) -> None:
    async with clickbook_world(database_url, tmp_path) as world:
        async with world.chat() as chat:
            await book_as_customer(chat)
            (booking,) = world.fake.world.live_bookings()
            booking.cancelled = True  # cancelled on clickbook.net meanwhile
            await chat.send("/mybookings")
            await chat.press(next(x for x in chat.labels if x.startswith("✖ Cancel")))
            await chat.press("Yes, cancel it")
            assert "Your appointment is cancelled." in chat.text, chat.text
        assert world.fake.count("GETBOOKINGS") == 1
        assert [b.status for b in await world.bookings()] == ["cancelled"]
