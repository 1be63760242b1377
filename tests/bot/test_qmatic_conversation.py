"""Booking with a Qmatic business through the real Application (``process_update``), against
the fake Qmatic platform: the whole conversation, the 15-minute hold and every way out of it,
an expired hold at confirm time, platform failures, and what is (never) stored or logged."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.engine import Engine
from bot.services import Services
from providers.base import CustomerDetails, Selection
from storage.models import Booking, Conversation, Fiche
from tests.bot.harness import ChatDriver, running_bot
from tests.bot.qmatic_world import (
    CLIENT_ID,
    CLIENT_SECRET,
    DENIED,
    EMAIL,
    FIRST_NAME,
    IDLE_MINUTES,
    INFORMATION,
    LAST_NAME,
    PURPOSE,
    SCREENING,
    SERVICE,
    TIME,
    QmaticWorld,
    answer_questions,
    database_files,
    enter_details,
    qmatic_world,
    reserve_a_time,
)

HELD = "This time is held for you for 15 minutes."
GUID = re.compile(r"[0-9a-f]{32}")
CONFIRM = "✅ Confirm"
BOOKED = "Booked!"


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[QmaticWorld]:
    async with qmatic_world(database_url) as built:
        yield built


@pytest.fixture
async def chat(world: QmaticWorld) -> AsyncIterator[ChatDriver]:
    async with running_bot(world.services) as driver:
        yield driver


async def table_rows(services: Services) -> dict[str, list[str]]:
    """Every row of every table, as text, by table name."""
    async with services.sessions() as session:
        names = (
            await session.execute(
                text(
                    "SELECT name FROM sqlite_master"
                    " WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                )
            )
        ).scalars()
        rows: dict[str, list[str]] = {}
        for name in list(names):
            result = await session.execute(text(f'SELECT * FROM "{name}"'))  # noqa: S608
            rows[name] = [repr(tuple(row)) for row in result]
    return rows


async def stored_conversations(services: Services) -> list[dict[str, Any]]:
    async with services.sessions() as session:
        return [dict(d or {}) for d in await session.scalars(select(Conversation.data))]


async def book_to_summary(chat: ChatDriver) -> str:
    """/book to the summary with a held slot; returns the time label tapped."""
    label = await reserve_a_time(chat)
    await answer_questions(chat)
    await enter_details(chat)
    assert "Please check your booking" in chat.text, chat.text
    return label


async def confirm_with_lost_answer(world: QmaticWorld, chat: ChatDriver) -> None:
    """To the summary and Confirm: the platform books, its answer is lost on the way back, and
    the user is told their choices are kept."""
    await book_to_summary(chat)
    world.network.lose_next_answer("PUT", "/reservations/")
    await chat.press(CONFIRM)
    assert "your choices are kept" in chat.text


# -- the whole conversation -----------------------------------------------------------------------


async def test_full_booking_with_resource_screening_and_information_question(
    world: QmaticWorld, chat: ChatDriver
) -> None:
    await chat.send("/book")
    # One service at one branch: those steps answer themselves; the resource is required.
    assert "Who would you like to see?" in chat.text
    assert {"Anna", "Bob"} <= set(chat.labels)
    assert "No preference" not in chat.labels
    await chat.press("Anna")
    await chat.press_first_day()
    assert "Free times on Monday, March 3" in chat.text
    first_time = next(label for label in chat.labels if TIME.match(label))
    await chat.press_first_time()

    # Reserved on the platform, for Anna, and the user is told for how long.
    (hold,) = world.live_holds()
    assert hold.resource == "r-anna"
    assert chat.text.startswith(HELD)
    assert SCREENING in chat.text
    assert chat.labels[:2] == ["Yes", "No"]
    await chat.press("Yes")
    assert INFORMATION in chat.text
    assert "Skip" not in chat.labels  # a required question
    await chat.send(PURPOSE)

    await enter_details(chat)
    summary = chat.text
    assert "Please check your booking" in summary
    assert SERVICE in summary and "With: Anna" in summary and "Ada Lovelace" in summary
    assert first_time in summary
    await chat.press(CONFIRM)

    assert BOOKED in chat.text and "/mybookings" in chat.text
    (appointment,) = world.fake.active_appointments()
    assert appointment.resource == "r-anna"
    assert appointment.start == hold.start
    identifier = appointment.customer["personalIdentifier"]
    assert GUID.fullmatch(identifier), "the adapter's own identifier, not a typed one"
    assert appointment.customer["firstName"] == FIRST_NAME
    assert appointment.customer["email"] == EMAIL
    assert appointment.answers == [{"questionText": INFORMATION, "answer": PURPOSE}]
    # The held reservation itself was confirmed: one reservation, one confirmation.
    assert world.live_holds() == []
    assert len(world.fake.api_requests("POST", "/reservations")) == 1
    assert world.fake.api_requests("PUT")[0].path.endswith(hold.id)
    async with world.services.sessions() as session:
        booking = (await session.scalars(select(Booking))).one()
        assert (booking.provider_ref, booking.service_name) == (appointment.id, SERVICE)
        assert booking.resource_name == "Anna" and booking.start_at == hold.start
        fiche = (await session.scalars(select(Fiche))).one()
        assert fiche.provider_ref == identifier and fiche.personal_id is None
        assert (fiche.first_name, fiche.last_name, fiche.email) == (FIRST_NAME, LAST_NAME, EMAIL)
    # The finished booking is no longer in the conversation state.
    assert all("b" not in d for d in await stored_conversations(world.services))


async def test_double_tap_on_confirm_books_once(world: QmaticWorld, chat: ChatDriver) -> None:
    await book_to_summary(chat)
    confirm = chat.data_of(CONFIRM)
    await chat.tap(confirm)
    await chat.tap(confirm)
    assert len(world.fake.active_appointments()) == 1
    assert world.confirm_requests() == 1
    assert len(await world.bookings()) == 1


# -- no orphan holds -------------------------------------------------------------------------------


async def reserved(world: QmaticWorld, chat: ChatDriver) -> str:
    """Hold a slot; return the id of the reservation on the platform."""
    await reserve_a_time(chat)
    (hold,) = world.live_holds()
    return hold.id


async def test_cancel_command_releases_the_hold(world: QmaticWorld, chat: ChatDriver) -> None:
    reservation = await reserved(world, chat)
    await chat.send("/cancel")
    assert "Booking cancelled" in chat.text
    assert world.live_holds() == []
    assert world.released_ids() == [reservation]


async def test_cancel_button_on_the_summary_releases_the_hold_and_keeps_no_details(
    world: QmaticWorld, chat: ChatDriver
) -> None:
    await book_to_summary(chat)
    (hold,) = world.live_holds()
    await chat.press("✖ Cancel")
    assert "Booking cancelled" in chat.text
    assert world.live_holds() == []
    assert world.released_ids() == [hold.id]
    assert world.fake.active_appointments() == []
    # The details typed for a booking that was dropped are not kept anywhere.
    for rows in (await table_rows(world.services)).values():
        assert not any(EMAIL in row for row in rows)


async def test_back_from_the_first_question_releases_the_hold_and_offers_the_times_again(
    world: QmaticWorld, chat: ChatDriver
) -> None:
    reservation = await reserved(world, chat)
    assert SCREENING in chat.text
    await chat.press("« Back")
    assert "Free times on" in chat.text
    assert world.live_holds() == []
    assert world.released_ids() == [reservation]
    # The released time is free again and can be held anew.
    await chat.press_first_time()
    (again,) = world.live_holds()
    assert again.id != reservation and chat.text.startswith(HELD)


async def test_back_that_stays_after_the_slot_keeps_the_hold(
    world: QmaticWorld, chat: ChatDriver
) -> None:
    await book_to_summary(chat)
    (hold,) = world.live_holds()
    await chat.press("« Back")
    assert "Please check your booking" not in chat.text
    assert [h.id for h in world.live_holds()] == [hold.id]
    assert world.released_ids() == []


async def test_starting_a_new_booking_releases_the_hold_of_the_old_one(
    world: QmaticWorld, chat: ChatDriver
) -> None:
    reservation = await reserved(world, chat)
    await chat.send("/book")
    assert world.released_ids() == []  # asked first: continue, or start over
    await chat.press("Start over")
    assert "Who would you like to see?" in chat.text
    assert world.live_holds() == []
    assert world.released_ids() == [reservation]


async def test_screening_refusal_shows_the_platform_message_and_releases_the_hold(
    world: QmaticWorld, chat: ChatDriver
) -> None:
    reservation = await reserved(world, chat)
    await chat.press("No")
    assert DENIED in chat.text
    assert "/book" in chat.text
    assert world.live_holds() == []
    assert world.released_ids() == [reservation]
    assert all("b" not in d for d in await stored_conversations(world.services))


async def test_idle_expiry_releases_the_hold_on_the_next_update(
    world: QmaticWorld, chat: ChatDriver
) -> None:
    reservation = await reserved(world, chat)
    world.clock.advance(minutes=IDLE_MINUTES + 1)
    assert [h.id for h in world.live_holds()] == [reservation]  # the platform still holds it
    await chat.press("Yes")
    assert "Your previous booking timed out" in chat.text
    assert world.live_holds() == []
    assert world.released_ids() == [reservation]


async def test_idle_expiry_sweep_releases_the_hold_and_forgets_the_conversation(
    world: QmaticWorld, chat: ChatDriver
) -> None:
    reservation = await reserved(world, chat)
    engine = Engine(world.services)
    assert await engine.sweep_expired() == 0  # not idle yet: nothing touched
    assert [h.id for h in world.live_holds()] == [reservation]
    world.clock.advance(minutes=IDLE_MINUTES + 1)
    assert await engine.sweep_expired() == 1
    assert world.live_holds() == []
    assert world.released_ids() == [reservation]
    assert await stored_conversations(world.services) == []


async def test_hold_survives_a_restart_and_the_new_process_sweep_releases_it(
    world: QmaticWorld, database_url: str
) -> None:
    async with running_bot(world.services) as chat:
        reservation = await reserved(world, chat)
    tokens_before = world.fake.tokens_issued
    # The process dies: no clean-up runs; a new one starts on the same database file.
    services = await world.restart()
    async with running_bot(services) as chat:
        engine: Engine = chat.application.bot_data.engine
        assert [h.id for h in world.live_holds()] == [reservation]
        world.clock.advance(minutes=IDLE_MINUTES + 1)
        assert await engine.sweep_expired() == 1
    assert world.live_holds() == []
    assert world.released_ids() == [reservation]
    assert world.fake.tokens_issued == tokens_before + 1  # released by the new process
    assert await stored_conversations(services) == []


async def test_after_a_restart_the_conversation_continues_with_its_hold(
    world: QmaticWorld,
) -> None:
    async with running_bot(world.services) as chat:
        await reserve_a_time(chat)
        (hold,) = world.live_holds()
        menu = chat.data_of("Yes")
    services = await world.restart()
    async with running_bot(services) as chat:
        await chat.tap(menu)
        assert INFORMATION in chat.text
        await chat.send(PURPOSE)
        await enter_details(chat)
        await chat.press(CONFIRM)
        assert BOOKED in chat.text
    (appointment,) = world.fake.active_appointments()
    assert appointment.start == hold.start
    assert world.fake.api_requests("PUT")[0].path.endswith(hold.id)


# -- a hold that expired before confirm ------------------------------------------------------------


async def test_expired_hold_is_reserved_again_when_the_time_is_still_free(
    world: QmaticWorld, chat: ChatDriver
) -> None:
    await reserve_a_time(chat)
    (hold,) = world.live_holds()
    world.clock.advance(minutes=IDLE_MINUTES - 1)
    await chat.press("Yes")
    world.clock.advance(minutes=IDLE_MINUTES - 1)
    await chat.send(PURPOSE)
    await enter_details(chat)
    assert world.live_holds() == []
    await chat.press(CONFIRM)
    assert BOOKED in chat.text
    (appointment,) = world.fake.active_appointments()
    assert appointment.start == hold.start and appointment.resource == "r-anna"
    # Refused confirmation of the expired reservation, then one new reservation confirmed.
    assert world.confirm_requests() == 2
    assert len(world.fake.api_requests("POST", "/reservations")) == 2
    assert world.live_holds() == []


async def test_expired_hold_whose_time_was_taken_offers_the_next_times_and_books_once(
    world: QmaticWorld, chat: ChatDriver
) -> None:
    await reserve_a_time(chat)
    (hold,) = world.live_holds()
    world.clock.advance(minutes=IDLE_MINUTES - 1)
    await chat.press("Yes")
    world.clock.advance(minutes=IDLE_MINUTES - 1)
    # Meanwhile someone else books the time the hold had kept.
    other = world.other_client()
    selection = Selection(
        {
            "service": ("svc-permit",),
            "branch": ("b-city",),
            "resource": ("r-anna",),
            "party_size": ("1",),
        }
    )
    taken = next(
        s for s in await other.slots(selection, hold.start.date()) if s.start == hold.start
    )
    someone = CustomerDetails(
        first_name="Grace",
        last_name="Hopper",
        email="grace@example.org",
    )
    await other.book(
        selection, taken, someone, answers={"screening:0": "yes", "information:0": "Work"}
    )
    await chat.send(PURPOSE)
    await enter_details(chat)
    await chat.press(CONFIRM)

    assert "that time was just taken" in chat.text
    assert "Free times on" in chat.text
    offered = [label for label in chat.labels if TIME.match(label)]
    assert offered and "9:00 AM" not in offered
    assert len(world.fake.active_appointments()) == 1  # only the other customer's
    assert world.live_holds() == []

    await chat.press_first_time()
    assert chat.text.startswith(HELD)
    await answer_questions(chat)  # a new reservation: screened again
    # The typed details are kept; only the phone skipped earlier is offered again.
    assert "phone" in chat.text
    await chat.press("Skip")
    assert "Please check your booking" in chat.text
    await chat.press(CONFIRM)
    assert BOOKED in chat.text
    ours = [a for a in world.fake.active_appointments() if a.customer["email"] == EMAIL]
    assert len(ours) == 1 and ours[0].start > hold.start
    assert len(world.fake.active_appointments()) == 2
    assert world.live_holds() == []


# -- platform failures -----------------------------------------------------------------------------


async def test_slots_failing_shows_retry_and_keeps_the_place(
    world: QmaticWorld, chat: ChatDriver
) -> None:
    await chat.send("/book")
    await chat.press("Anna")
    world.fake.control.fail_next("error")  # a 500 on the timeslots read
    await chat.press_first_day()
    assert "The booking system is not answering right now. Your choices are kept." in chat.text
    assert chat.labels == ["↻ Retry", "✖ Cancel"]
    await chat.press("↻ Retry")
    assert "Free times on Monday, March 3" in chat.text
    await chat.press_first_time()
    (hold,) = world.live_holds()
    assert hold.resource == "r-anna"  # the resource chosen before the failure was kept


async def test_slot_reads_timing_out_are_retried_a_bounded_number_of_times(
    world: QmaticWorld, chat: ChatDriver
) -> None:
    await chat.send("/book")
    await chat.press("Anna")
    reads_before = len(world.fake.api_requests("GET", "/timeslots"))
    world.fake.control.fail_next("timeout", 3)
    await chat.press_first_day()
    assert "not answering right now. Your choices are kept." in chat.text
    # A read is safe to repeat: three attempts with backoff, then the user is told.
    assert len(world.fake.api_requests("GET", "/timeslots")) - reads_before == 3
    await chat.press("↻ Retry")
    assert "Free times on Monday, March 3" in chat.text


async def test_reserve_timing_out_holds_nothing_and_retry_offers_the_times_again(
    world: QmaticWorld, chat: ChatDriver
) -> None:
    await chat.send("/book")
    await chat.press("Anna")
    await chat.press_first_day()
    world.fake.control.fail_next("timeout")
    await chat.press_first_time()
    assert "not answering right now" in chat.text
    assert len(world.fake.api_requests("POST", "/reservations")) == 1  # not repeated
    assert world.live_holds() == []
    await chat.press("↻ Retry")
    assert "Free times on Monday, March 3" in chat.text
    await chat.press_first_time()
    assert chat.text.startswith(HELD)
    assert len(world.live_holds()) == 1


@pytest.mark.parametrize("failure", ["timeout", "unavailable", "error"])
async def test_confirm_failing_is_not_repeated_and_retry_books_once(
    world: QmaticWorld, chat: ChatDriver, failure: str
) -> None:
    await book_to_summary(chat)
    (hold,) = world.live_holds()
    world.fake.control.fail_next(failure)
    await chat.press(CONFIRM)
    assert "did not answer. If your booking does not appear in /mybookings" in chat.text
    assert "↻ Retry" in chat.labels and "✖ Cancel" in chat.labels
    assert world.confirm_requests() == 1  # the adapter did not repeat it by itself
    assert world.fake.active_appointments() == []
    assert [h.id for h in world.live_holds()] == [hold.id]  # the hold is kept
    await chat.press("↻ Retry")
    assert BOOKED in chat.text
    assert world.confirm_requests() == 2
    (appointment,) = world.fake.active_appointments()
    assert appointment.start == hold.start
    assert world.live_holds() == []


async def test_confirm_whose_answer_was_lost_is_never_booked_twice(
    world: QmaticWorld, chat: ChatDriver
) -> None:
    await confirm_with_lost_answer(world, chat)
    assert len(world.fake.active_appointments()) == 1  # the platform did book it
    await chat.press("↻ Retry")
    # The retry first looks the appointment up by personal identifier: found, it is recorded
    # (with its reminders) and the user told, and nothing is reserved or booked again.
    assert "Your last confirmation went through: Residence permit on" in chat.text
    assert len(world.fake.active_appointments()) == 1
    assert world.live_holds() == []
    assert world.confirm_requests() == 1
    assert len(await world.bookings()) == 1
    await chat.send("/mybookings")
    assert "Residence permit" in chat.text


async def test_a_lookup_the_platform_does_not_answer_books_nothing_until_it_can_tell(
    world: QmaticWorld, chat: ChatDriver
) -> None:
    await confirm_with_lost_answer(world, chat)
    world.fake.control.fail_next("unavailable", 20)  # the lookup too, retries included
    await chat.press("↻ Retry")
    assert "We are still checking with the booking system" in chat.text
    assert "Please check your booking" in chat.text, "shown where they are"
    await chat.press(CONFIRM)
    assert "We are still checking with the booking system" in chat.text
    assert world.confirm_requests() == 1, "no second booking while nobody can tell"

    world.fake.control.take_all()
    world.clock.advance(minutes=3)
    await chat.application.bot_data.engine.sweep_expired()
    notices = await world.notices()
    assert len(await world.bookings()) == 1
    assert len(notices) == 1 and "went through" in notices[0]
    assert len(world.fake.active_appointments()) == 1


async def test_a_lost_answer_is_looked_up_after_a_restart_and_the_user_told_by_the_outbox(
    world: QmaticWorld, chat: ChatDriver
) -> None:
    await confirm_with_lost_answer(world, chat)
    services = await world.restart()  # the process stops; another one starts
    world.clock.advance(minutes=3)  # past the confirming grace: nobody is waiting for it
    async with running_bot(services) as back:
        await back.application.bot_data.engine.sweep_expired()
        assert services is world.services
        assert len(await world.bookings()) == 1
        notices = await world.notices()
        assert len(notices) == 1
        assert "Your last confirmation went through: Residence permit on" in notices[0]
        await back.send("/mybookings")
        assert "Residence permit" in back.text
        assert "went through" not in back.text, "told once"
    assert len(world.fake.active_appointments()) == 1
    assert world.confirm_requests() == 1


# -- what is stored, logged and never kept -------------------------------------------------------


async def test_no_identifier_is_asked_and_the_fiches_own_is_reused_for_the_next_booking(
    world: QmaticWorld, chat: ChatDriver
) -> None:
    await book_to_summary(chat)
    await chat.press(CONFIRM)
    (first,) = world.fake.active_appointments()
    await reserve_a_time(chat)
    await answer_questions(chat)
    assert "Who is this appointment for?" in chat.text, chat.text
    await chat.press(re.compile(r"^Book for Ada Lovelace"))
    await chat.press("Skip")  # the phone, optional, skipped the first time too
    assert "Please check your booking" in chat.text, chat.text
    await chat.press(CONFIRM)
    assert BOOKED in chat.text
    identifiers = {a.customer["personalIdentifier"] for a in world.fake.active_appointments()}
    assert identifiers == {first.customer["personalIdentifier"]}
    assert not any("identifier" in text for text in chat.texts())


async def test_a_fiche_stored_with_a_typed_identifier_by_an_older_version_keeps_working(
    world: QmaticWorld, chat: ChatDriver
) -> None:
    await book_to_summary(chat)
    await chat.press(CONFIRM)
    async with world.services.sessions() as session, session.begin():
        fiche = (await session.scalars(select(Fiche))).one()
        fiche.personal_id = fiche.provider_ref = "PID4711OLDFICHE"
    await reserve_a_time(chat)
    await answer_questions(chat)
    await chat.press(re.compile(r"^Book for Ada Lovelace"))
    await chat.press("Skip")
    await chat.press(CONFIRM)
    assert BOOKED in chat.text
    latest = max(world.fake.active_appointments(), key=lambda a: a.start)
    assert latest.customer["personalIdentifier"] == "PID4711OLDFICHE"


async def test_personal_identifier_only_in_the_fiche_and_secrets_nowhere(
    world: QmaticWorld, chat: ChatDriver, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The levels the application runs at (INFO at most; see bot/cli.py), with our own modules at
    # DEBUG. (aiosqlite's DEBUG trace prints SQL parameters; the CLI never enables it.)
    caplog.set_level(logging.INFO)
    for ours in ("bot", "providers", "storage"):
        caplog.set_level(logging.DEBUG, logger=ours)
    await book_to_summary(chat)
    during = json.dumps(await stored_conversations(world.services))
    await chat.press(CONFIRM)
    assert BOOKED in chat.text
    (appointment,) = world.fake.active_appointments()
    identifier = appointment.customer["personalIdentifier"]
    # Exercise the other paths that talk to the platform too: a hold released by /cancel.
    await reserve_a_time(chat)
    await chat.send("/cancel")

    tokens = list(world.fake.tokens)
    assert tokens  # the adapter did get tokens: they must appear nowhere below
    secrets = [CLIENT_SECRET, CLIENT_ID, *tokens]

    rows = await table_rows(world.services)
    holding = {name for name, found in rows.items() if any(identifier in r for r in found)}
    assert holding == {"fiches"}
    for name, found in rows.items():
        for secret in secrets:
            assert not any(secret in r for r in found), (name, secret)

    after = json.dumps(await stored_conversations(world.services))
    for secret in secrets:
        assert secret not in during and secret not in after
    assert identifier not in after

    files = database_files(database_url)
    assert any(p.name.endswith("-wal") for p in files)
    for path in files:
        content = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in content, (path.name, secret)

    logged = caplog.text + "".join(repr(r.args) for r in caplog.records)
    assert logged  # something was logged at all
    for secret in [*secrets, identifier]:
        assert secret not in logged


async def test_personal_identifier_is_sent_only_in_the_confirmation(
    world: QmaticWorld, chat: ChatDriver
) -> None:
    await book_to_summary(chat)
    await chat.press(CONFIRM)
    (appointment,) = world.fake.active_appointments()
    identifier = appointment.customer["personalIdentifier"]
    carrying = [
        (r.method, r.path)
        for r in world.fake.requests
        if identifier in r.body.decode() or identifier in repr(r.query) or identifier in r.path
    ]
    assert len(carrying) == 1 and carrying[0][0] == "PUT"
