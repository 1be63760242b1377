"""Booking with a ClicRDV business through the real Application (``process_update``), against the
fake ClicRDV API: the group's settings order the steps, the customer signs in with a password
typed in the chat, picks one of their account's fiches or creates one, and confirms.

The Services are built from an ``AppConfig`` by ``build_services`` exactly as at start-up; the
only things a test changes are the HTTP transport (the fake's ASGI app) and the fake's knobs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select

from providers.base import Booking, ProviderError, Selection, Slot
from tests.bot.clicrdv_world import (
    CHILD_BUTTON,
    EMAIL,
    NEW_PERSON,
    PASSWORD,
    SIGN_IN_SCREEN,
    ClicrdvWorld,
    book_for_child,
    book_for_someone_new,
    book_to_confirm_screen,
    choose_service_and_calendar,
    clicrdv_world,
    finish_booking,
    sign_in,
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
from tests.fakes.clicrdv import API_KEY

CANARY = "Canary-Pa55word-c1icrdv-93f1"
WRONG_CANARY = "Canary-Typo-c1icrdv-77a0"
#: The beginnings of the failure messages (their endings are still being worded).
NOT_ANSWERING = "The booking system is not answering right now."
CONFIRM_NOT_ANSWERED = "The booking system did not answer"


# -- whole bookings ---------------------------------------------------------------------------
@pytest.mark.parametrize("service_first", [True, False], ids=["service-first", "calendar-first"])
async def test_full_bookings_for_an_existing_fiche_then_a_new_one(
    database_url: str, service_first: bool
) -> None:
    async with clicrdv_world(database_url, service_first=service_first) as world:
        async with world.chat() as chat:
            # First booking: the account's existing fiche.
            await choose_service_and_calendar(chat, service_first=service_first)
            first_time = await choose_time(chat)
            await sign_in(chat)
            assert f"Signed in as {EMAIL}" in chat.text
            await book_for_child(chat)
            assert BOOKED in chat.text, chat.text
            assert first_time in chat.text and "Bob" in chat.text and "Léa Martin" in chat.text

            # Second booking: a new person, so a new fiche on the platform.
            await choose_service_and_calendar(chat, service_first=service_first)
            await choose_time(chat)
            await sign_in(chat)
            await book_for_someone_new(chat)
            assert BOOKED in chat.text, chat.text

        first, second = world.posted_appointments()
        assert first["fiche"]["id"] == world.child.id
        assert "id" not in second["fiche"]
        assert (second["fiche"]["firstname"], second["fiche"]["email"]) == (
            NEW_PERSON["first_name"],
            NEW_PERSON["email"],
        )
        assert second["fiche"]["firstphone"] == "+33698765432"
        assert first["calendar_id"] == second["calendar_id"] == 16  # Bob
        assert first["intervention_ids"] == second["intervention_ids"] == [21]  # Cut
        live = world.fake.live_appointments()
        new_fiche = next(f for f in world.fake.fiches.values() if f.firstname == "Hugo")
        assert [a.fiche_id for a in live] == [world.child.id, new_fiche.id]

        # Our own records keep the ClicRDV fiche ids, and the bookings point at them.
        fiches = await world.fiches()
        assert [(f.first_name, f.provider_ref, f.label) for f in fiches] == [
            ("Léa", str(world.child.id), "Léa Martin"),
            ("Hugo", str(new_fiche.id), NEW_PERSON["label"]),
        ]
        bookings = await world.bookings()
        assert [b.provider_ref for b in bookings] == [str(a.id) for a in live]
        assert [b.fiche_id for b in bookings] == [f.id for f in fiches]
        assert all(b.resource_name == "Bob" and b.service_name == "Cut" for b in bookings)


async def test_the_next_booking_offers_the_stored_fiches_once_and_books_with_their_clicrdv_id(
    database_url: str,
) -> None:
    async with clicrdv_world(database_url) as world:
        async with world.chat() as chat:
            await finish_booking_for(chat, book_for_child)
            await finish_booking_for(chat, book_for_someone_new)
            fiches_before = [(f.id, f.provider_ref) for f in await world.fiches()]

            await choose_service_and_calendar(chat, service_first=True)
            await choose_time(chat)
            await sign_in(chat)
            # Both people come from our records (the platform lists them too, matched by id).
            people = [label for label in chat.labels if label.startswith("Book for")]
            assert people == [CHILD_BUTTON, "Book for Hugo Martin (my son)"]
            await chat.press("Book for Hugo Martin (my son)")
            assert CHECK_PROMPT in chat.text and "Hugo Martin" in chat.text
            await chat.press("✅ Confirm")
            assert BOOKED in chat.text

        hugo_ref = fiches_before[1][1]
        assert hugo_ref is not None
        assert world.posted_appointments()[-1]["fiche"]["id"] == int(hugo_ref)
        assert [(f.id, f.provider_ref) for f in await world.fiches()] == fiches_before
        assert len([f for f in world.fake.fiches.values() if f.firstname == "Hugo"]) == 1
        assert (await world.bookings())[-1].fiche_id == fiches_before[1][0]


async def finish_booking_for(
    chat: ChatDriver, who: Callable[[ChatDriver], Awaitable[None]]
) -> None:
    await choose_service_and_calendar(chat, service_first=True)
    await choose_time(chat)
    await sign_in(chat)
    await who(chat)
    assert BOOKED in chat.text, chat.text


# -- the password -----------------------------------------------------------------------------
async def test_password_messages_are_deleted_and_the_canary_is_found_nowhere(
    database_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "telegram", "bot", "providers", "sqlalchemy"):
        caplog.set_level(logging.DEBUG, logger=name)
    db_file = Path(database_url.split(":///", 1)[1])
    raised: list[BaseException] = []

    async with clicrdv_world(database_url, password=CANARY) as world:
        _record_exceptions(world, monkeypatch, raised)
        async with world.chat() as chat:
            await choose_service_and_calendar(chat, service_first=True)
            await choose_time(chat)
            wrong = await sign_in(chat, password=WRONG_CANARY)
            assert "not accepted" in chat.text
            right = await send_message(chat, CANARY)
            assert WHO_PROMPT in chat.text
            # A failure after signing in, so that exception paths are exercised too.
            await chat.press(CHILD_BUTTON)
            world.fake.control.fail_next("timeout", path_contains="/appointments.json")
            await chat.press("✅ Confirm")
            assert CONFIRM_NOT_ANSWERED in chat.text
            await chat.press("↻ Retry")
            assert BOOKED in chat.text

            deleted = [c.params["message_id"] for c in chat.calls("deleteMessage")]
            assert deleted == [wrong, right]
            assert all(c.params["chat_id"] == chat.user_id for c in chat.calls("deleteMessage"))
            bot_api_calls = repr([c.params for c in chat.api.calls])

        state = await world.state()
        tables = await _dump_every_table(world)
        live_files = _database_files(db_file)
        login_queries = [r.query for r in world.fake.requests if r.path.endswith("login.json")]
        raw_requests = repr(world.fake.requests)
    closed_files = _database_files(db_file)

    assert len(login_queries) == 2 and raised, "the flow signed in twice and met an error"
    sha1 = hashlib.sha1(CANARY.encode(), usedforsecurity=False).hexdigest()
    wrong_sha1 = hashlib.sha1(WRONG_CANARY.encode(), usedforsecurity=False).hexdigest()
    # Only the hash travelled, and only to the login.
    assert login_queries[1]["account[password]"] == [sha1]
    for secret in (CANARY, WRONG_CANARY):
        assert secret not in raw_requests
    assert any("login.json" in r.getMessage() for r in caplog.records), "logs were captured"

    texts = {
        "conversation state": json.dumps(state),
        "database tables": tables,
        "logs": caplog.text + "\n".join(r.getMessage() for r in caplog.records),
        "exceptions": "\n".join(
            "".join(traceback.format_exception(e)) + repr(e) + repr(e.args) for e in raised
        ),
        "Bot API calls": bot_api_calls,
    }
    for secret in (CANARY, WRONG_CANARY, sha1, wrong_sha1, API_KEY):
        for where, text in texts.items():
            assert secret not in text, f"{secret!r} found in the {where}"
        for name, content in {**live_files, **closed_files}.items():
            assert secret.encode() not in content, f"{secret!r} found in {name}"
    assert "b" not in state, "the booking is finished"


def _record_exceptions(
    world: ClicrdvWorld, monkeypatch: pytest.MonkeyPatch, raised: list[BaseException]
) -> None:
    """Keep every exception the adapter raises to the engine, to search their texts."""
    provider = world.provider
    for name in ("sign_in", "fiches", "book", "slots", "available_days", "options", "flow"):
        method = getattr(provider, name)

        def spy(method: Any = method) -> Any:
            async def call(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await method(*args, **kwargs)
                except ProviderError as error:
                    raised.append(error)
                    raise

            return call

        monkeypatch.setattr(provider, name, spy())


async def _dump_every_table(world: ClicrdvWorld) -> str:
    metadata = MetaData()
    async with world.services.engine.connect() as connection:
        await connection.run_sync(metadata.reflect)
        rows: list[str] = []
        for table in metadata.sorted_tables:
            rows.extend(repr(r) for r in await connection.execute(select(table)))
    assert any("Léa" in r for r in rows), "the tables were read"
    return "\n".join(rows)


def _database_files(db_file: Path) -> dict[str, bytes]:
    files = {p.name: p.read_bytes() for p in db_file.parent.glob(db_file.name + "*")}
    assert db_file.name in files
    return files


async def test_wrong_password_says_so_lets_the_user_retry_and_keeps_the_booking(
    database_url: str,
) -> None:
    async with clicrdv_world(database_url) as world:
        async with world.chat() as chat:
            await choose_service_and_calendar(chat, service_first=True)
            chosen_time = await choose_time(chat)
            before = await world.state()
            wrong = await sign_in(chat, password="not-my-password")

            assert "The email or password was not accepted. Please try again." in chat.text
            assert PASSWORD_PROMPT in chat.text and EMAIL in chat.text
            assert [c.params["message_id"] for c in chat.calls("deleteMessage")] == [wrong]
            after = (await world.state())["b"]
            assert after["ch"] == before["b"]["ch"]
            assert after["slot"] == before["b"]["slot"]
            assert after["i"] == before["b"]["i"] and "acct" not in after

            await send_message(chat, PASSWORD)
            assert WHO_PROMPT in chat.text
            await book_for_child(chat)
            assert BOOKED in chat.text and chosen_time in chat.text

        assert len([r for r in world.fake.requests if r.path.endswith("login.json")]) == 2
        assert world.posted_appointments()[0]["date"].startswith(before["b"]["slot"]["start"][:10])
        assert len(world.fake.live_appointments()) == 1


# -- the platform's refusals --------------------------------------------------------------------
#: code -> (what the user is told, the screen they are taken to)
REFUSALS = {
    "MaxRdvNumber": (
        "You already have the maximum number of appointments with this business.",
        CHECK_PROMPT,
    ),
    "MintimeBetween": ("This is too close to another appointment of yours.", "Pick a day"),
    "MaxRdvPeriod": ("This date is too far ahead. Please pick an earlier day.", "Pick a day"),
    "MintimeRdv": ("This time is too soon to book online. Please pick a later time.", "Pick a day"),
    "NotAvailable": (
        "Sorry, that time was just taken. Here are the next free times.",
        "Free times",
    ),
    "EmailAlreadyExists": (
        "This email address is already used by another registered user.",
        "Please type an email address for the confirmation.",
    ),
    "SameTimeRdv": ("You already have an appointment at that time.", "Pick a day"),
    "EmailNotFound": ("No account was found with this email.", SIGN_IN_SCREEN),
}


@pytest.mark.parametrize("code", list(REFUSALS))
async def test_each_refusal_code_has_its_own_message_and_a_way_forward(
    database_url: str, code: str
) -> None:
    message, next_screen = REFUSALS[code]
    async with clicrdv_world(database_url) as world:
        async with world.chat() as chat:
            await book_to_confirm_screen(chat)
            world.fake.control.refuse_next_booking(code)
            await chat.press("✅ Confirm")

            assert message in chat.text, chat.text
            assert next_screen in chat.text, chat.text
            for other, (other_message, _) in REFUSALS.items():
                assert other == code or other_message not in chat.text
            assert world.fake.live_appointments() == [] and await world.bookings() == []
            assert "b" in await world.state(), "the booking in progress is kept"

            passed = await finish_booking(chat)

        assert world.posts() == 2
        assert len(world.fake.live_appointments()) == 1
        assert len(await world.bookings()) == 1
        if code == "EmailAlreadyExists":
            assert world.posted_appointments()[1]["fiche"]["email"] == "lea.martin@example.org"
        if code == "EmailNotFound":
            # The way forward was signing in again.
            assert passed[0] == REFUSALS[code][0]  # above the sign-in screen
            assert passed[1:3] == [
                "Please type your email address.",
                f"Please type your password for {EMAIL}. "
                "The message will be deleted from this chat at once.",
            ]
            assert len([r for r in world.fake.requests if r.path.endswith("login.json")]) == 2


async def test_an_expired_session_at_confirm_asks_to_sign_in_again_and_then_books(
    database_url: str,
) -> None:
    async with clicrdv_world(database_url) as world:
        async with world.chat() as chat:
            await book_to_confirm_screen(chat)
            world.fake.sessions.clear()  # ClicRDV answers no 401: only the read-back tells
            await chat.press("✅ Confirm")
            assert "Please sign in again." in chat.text and SIGN_IN_SCREEN in chat.text
            assert world.posts() == 0, "nothing is booked without a live session"
            await finish_booking(chat)
        assert world.posts() == 1 and len(world.fake.live_appointments()) == 1


# -- timeouts and server errors -----------------------------------------------------------------
@pytest.mark.parametrize("failure", ["timeout", "unavailable", "error"])
async def test_a_failed_confirmation_is_not_retried_blindly_and_retry_books_once(
    database_url: str, failure: str
) -> None:
    async with clicrdv_world(database_url) as world:
        async with world.chat() as chat:
            chosen_time = await book_to_confirm_screen(chat)
            world.fake.control.fail_next(failure, path_contains="/appointments.json")
            await chat.press("✅ Confirm")

            assert CONFIRM_NOT_ANSWERED in chat.text
            assert chat.labels[0] == "↻ Retry" and "✖ Cancel" in chat.labels
            assert world.posts() == 1, "the adapter did not repeat the appointment creation"
            assert world.fake.live_appointments() == []
            state = (await world.state())["b"]
            assert state["flow"][state["i"]]["kind"] == "confirm"

            await chat.press("↻ Retry")
            assert BOOKED in chat.text and chosen_time in chat.text

        assert world.posts() == 2
        assert len(world.fake.live_appointments()) == 1 and len(await world.bookings()) == 1


async def test_a_confirmation_whose_answer_was_lost_is_not_called_just_taken_on_retry(
    database_url: str,
) -> None:
    """The platform booked, but its answer never came: Retry first looks the appointment up
    with the signed-in account, finds it, records it and says it went through; it books
    nothing a second time (nor calls the time "just taken" by the user's own booking)."""
    async with clicrdv_world(database_url) as world:
        async with world.chat() as chat:
            await book_to_confirm_screen(chat)
            world.fake.control.fail_next("lost", path_contains="/appointments.json")
            await chat.press("✅ Confirm")
            assert CONFIRM_NOT_ANSWERED in chat.text
            assert len(world.fake.live_appointments()) == 1  # it did book

            await chat.press("↻ Retry")
            assert "Your last confirmation went through: Cut on" in chat.text
            assert "just taken" not in chat.text
            await chat.send("/mybookings")
            assert "Cut" in chat.text
        assert world.posts() == 1
        assert len(world.fake.live_appointments()) == 1 and len(await world.bookings()) == 1


async def test_unavailable_availability_says_so_and_retry_shows_the_same_step(
    database_url: str,
) -> None:
    async with clicrdv_world(database_url) as world:
        async with world.chat() as chat:
            await choose_service_and_calendar(chat, service_first=True)
            before = await world.state()
            reads = world.fake.count("availabletimeslots")
            world.fake.control.fail_next("unavailable", 3)  # every attempt of the read fails
            await chat.press("⚡ Earliest available")

            assert NOT_ANSWERING in chat.text
            assert chat.labels == ["↻ Retry", "✖ Cancel"]
            assert world.fake.count("availabletimeslots") == reads + 3  # reads are retried
            after = await world.state()
            assert (after["b"]["ch"], after["b"]["i"]) == (before["b"]["ch"], before["b"]["i"])

            await chat.press("↻ Retry")
            assert "Pick a day" in chat.text
            await finish_booking(chat)
        assert len(world.fake.live_appointments()) == 1


async def test_a_timeout_while_signing_in_keeps_the_place_and_the_password_is_still_deleted(
    database_url: str,
) -> None:
    async with clicrdv_world(database_url) as world:
        async with world.chat() as chat:
            await choose_service_and_calendar(chat, service_first=True)
            await choose_time(chat)
            world.fake.control.fail_next("timeout")
            attempt = await sign_in(chat)

            assert NOT_ANSWERING in chat.text and "↻ Retry" in chat.labels
            assert [c.params["message_id"] for c in chat.calls("deleteMessage")] == [attempt]
            assert "acct" not in (await world.state())["b"]

            await chat.press("↻ Retry")
            assert PASSWORD_PROMPT in chat.text
            await send_message(chat, PASSWORD)
            assert WHO_PROMPT in chat.text
            await finish_booking(chat)
        # The login is a write: one attempt per password typed, never repeated by itself.
        assert len([r for r in world.fake.requests if r.path.endswith("login.json")]) == 2


# -- cancelling ---------------------------------------------------------------------------------
async def cancel_from_mybookings(chat: ChatDriver) -> None:
    await chat.send("/mybookings")
    (cancel,) = [label for label in chat.labels if label.startswith("✖ Cancel")]
    await chat.press(cancel)
    await chat.press("Yes, cancel it")


async def test_a_cancel_the_platform_answers_not_found_but_still_lists_is_not_called_done(
    database_url: str,
) -> None:
    """A guessed cancel path answering 404 cancels nothing: the bot says it could not confirm
    the cancellation and keeps the booking, because the account's list still shows it."""
    async with clicrdv_world(database_url) as world:
        async with world.chat() as chat:
            await book_to_confirm_screen(chat)
            await finish_booking(chat)
            world.fake.control.cancel_path_unknown = True
            await cancel_from_mybookings(chat)
            assert "could not confirm the cancellation" in chat.text
            assert "Your appointment is cancelled." not in chat.text
            assert "Your upcoming appointments:" in chat.text
        assert len(world.fake.live_appointments()) == 1
        (booking,) = await world.bookings()
        assert booking.status == "confirmed"


async def test_a_cancel_answered_not_found_for_an_appointment_already_gone_is_done(
    database_url: str,
) -> None:
    async with clicrdv_world(database_url) as world:
        async with world.chat() as chat:
            await book_to_confirm_screen(chat)
            await finish_booking(chat)
            (appointment,) = world.fake.live_appointments()
            appointment.deleted = True  # cancelled at the salon meanwhile
            await cancel_from_mybookings(chat)
            assert chat.text == "Your appointment is cancelled."
        (booking,) = await world.bookings()
        assert booking.status == "cancelled"


async def test_a_cancel_after_the_session_ended_asks_to_sign_in_there_and_then_cancels(
    database_url: str,
) -> None:
    """The session ended (a restart, ClicRDV's own expiry): "Yes, cancel it" asks the customer to
    sign in right there, deletes the password message, and then cancels what they asked."""
    async with clicrdv_world(database_url) as world:
        async with world.chat() as chat:
            await book_to_confirm_screen(chat)
            await finish_booking(chat)
            world.fake.sessions.clear()
            await cancel_from_mybookings(chat)
            assert "Please sign in again." in chat.text
            assert "Please type your email address." in chat.text
            assert len(world.fake.live_appointments()) == 1

            await chat.send(EMAIL)
            assert PASSWORD_PROMPT in chat.text
            password_message = await send_message(chat, CANARY)
            assert "The email or password was not accepted" in chat.text
            assert password_message in [c.params["message_id"] for c in chat.calls("deleteMessage")]
            password_message = await send_message(chat, PASSWORD)
            assert password_message in [c.params["message_id"] for c in chat.calls("deleteMessage")]
            assert f"Signed in as {EMAIL}." in chat.text
            assert "Your appointment is cancelled." in chat.text
            assert CANARY not in json.dumps(await world.state())
        assert world.fake.live_appointments() == []
        (booking,) = await world.bookings()
        assert booking.status == "cancelled"


async def test_cancel_while_signing_in_again_keeps_the_appointment(database_url: str) -> None:
    async with clicrdv_world(database_url) as world:
        async with world.chat() as chat:
            await book_to_confirm_screen(chat)
            await finish_booking(chat)
            world.fake.sessions.clear()
            await cancel_from_mybookings(chat)
            await chat.press("✖ Cancel")
            assert chat.text == "Your appointment is kept."
            assert "b" not in await world.state()
        assert len(world.fake.live_appointments()) == 1


async def test_a_reminders_cancel_the_platform_did_not_confirm_says_so_and_keeps_it(
    database_url: str,
) -> None:
    """The reminder's Cancel runs the same cancel as /mybookings, and says the same thing when
    the platform could not confirm it: not "could not be cancelled", but that it is kept."""
    async with clicrdv_world(database_url) as world:
        async with world.chat() as chat:
            await book_to_confirm_screen(chat)
            await finish_booking(chat)
            (booking,) = await world.bookings()
            world.fake.control.cancel_path_unknown = True
            await chat.tap(f"dr:C:{booking.id}")
            assert "could not confirm the cancellation" in chat.text
            assert "so your appointment is still listed" in chat.text
            assert "could not be cancelled" not in chat.text
        assert len(world.fake.live_appointments()) == 1
        (booking,) = await world.bookings()
        assert booking.status == "confirmed"


async def test_a_reminders_cancel_after_the_session_ended_signs_in_then_cancels(
    database_url: str,
) -> None:
    async with clicrdv_world(database_url) as world:
        async with world.chat() as chat:
            await book_to_confirm_screen(chat)
            await finish_booking(chat)
            (booking,) = await world.bookings()
            world.fake.sessions.clear()
            await chat.tap(f"dr:C:{booking.id}")
            assert "Please sign in again." in chat.text
            await chat.send(EMAIL)
            await send_message(chat, PASSWORD)
            assert "Your appointment is cancelled." in chat.text
        assert world.fake.live_appointments() == []


async def test_a_change_whose_session_ended_signs_in_then_starts_the_change_again(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A platform with both customer sign-in and Change (ClicRDV has no Change: it is given
    one here that, like its writes, needs a live session): the Change skips signing in, so an
    ended session is met at its Confirm; the customer signs in there and the Change goes on."""
    async with clicrdv_world(database_url) as world:
        provider = world.provider
        moved: list[str] = []

        async def reschedule(booking_ref: str, selection: Selection, slot: Slot) -> Booking:
            await provider.appointments(selection)  # AuthFailed without a live session
            moved.append(booking_ref)
            return Booking(booking_ref, slot.start, slot.end, "Coupe")

        monkeypatch.setattr(provider, "supports_reschedule", True)
        monkeypatch.setattr(provider, "reschedule", reschedule)
        async with world.chat() as chat:
            await book_to_confirm_screen(chat)
            await finish_booking(chat)
            world.fake.sessions.clear()
            await chat.send("/mybookings")
            (change,) = [label for label in chat.labels if label.startswith("↻ Change")]
            await chat.press(change)
            await choose_time(chat)
            assert "Please check the new time:" in chat.text
            await chat.press("✅ Confirm")
            assert "Please sign in again." in chat.text
            assert "Please type your email address." in chat.text
            assert moved == []

            await chat.send(EMAIL)
            await send_message(chat, PASSWORD)
            assert f"Signed in as {EMAIL}." in chat.text
            assert "Pick the new day for your appointment." in chat.text
            await choose_time(chat)
            await chat.press("✅ Confirm")
            assert "✅ Your new time is confirmed." in chat.text
        assert len(moved) == 1
        (booking,) = await world.bookings()
        assert booking.provider_ref == moved[0]
