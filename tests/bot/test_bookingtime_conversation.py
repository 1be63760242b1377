"""Whole conversations with a business that books on bookingtime, through the real Application
(``process_update``) against the fake bookingtime platform: booking, rescheduling and cancelling,
the stored fiche, and what the user sees when tokens expire, the platform fails or refuses."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.engine.steps.customer import PROMPTS
from bot.i18n import gettext
from providers.base import ANY_OPTION, CustomerDetails, CustomerField, Selection
from tests.bot.bookingtime_world import (
    BUSINESS_NAME,
    CANARY_CLIENT_ID,
    CONSULTATION,
    HAIRCUT,
    BookingtimeWorld,
    bookingtime_world,
    choose_haircut_slot,
    enter_details,
    time_label,
)
from tests.bot.harness import ChatDriver, running_bot
from tests.fakes.bookingtime import FailureMode, FakeBookingtime

#: Wednesday 6 March 2030, 10:00 in Berlin (the fake's clock starts on Monday 4 March, 08:00).
WEDNESDAY_10 = datetime(2030, 3, 6, 9, 0, tzinfo=UTC)
THURSDAY_11 = datetime(2030, 3, 7, 10, 0, tzinfo=UTC)

NOT_ANSWERING = "The booking system is not answering right now. Your choices are kept."
#: The add request got no answer: it may have been booked, so the user is told to check first.
NO_ANSWER_TO_BOOKING = (
    "The booking system did not answer. If your booking does not appear in /mybookings, "
    "try again: your choices are kept."
)
EMAIL_PROMPT = PROMPTS[CustomerField.EMAIL]


async def book_haircut(chat: ChatDriver, day: str = "6", time: str = "10:00 AM") -> None:
    """A first-time customer books a Haircut, from /book to the confirmation."""
    await choose_haircut_slot(chat, day, time)
    await enter_details(chat)
    assert chat.text.startswith("Please check your booking:")
    await chat.press("✅ Confirm")


def haircut_selection(world: BookingtimeWorld) -> Selection:
    return Selection(
        choices={"service": (world.haircut.id,), "resource": (ANY_OPTION,)}, user_key="tg:99"
    )


# -- booking, fiche, reschedule, cancel ---------------------------------------------------------


async def test_full_booking_confirms_books_on_the_platform_and_mirrors_it_in_bookings(
    database_url: str,
) -> None:
    async with bookingtime_world(database_url) as world, running_bot(world.services) as chat:
        await chat.send("/book")
        assert chat.text.startswith("Which service would you like?")
        assert chat.labels[:2] == [HAIRCUT, CONSULTATION]
        await chat.press(HAIRCUT)
        # The Haircut template offers no staff choice: straight to the calendar.
        assert chat.text.startswith("Pick a day.")
        await chat.press("6")
        assert chat.text.startswith("Free times on Wednesday, March 6, 2030")
        await chat.press(time_label("10:00 AM"))
        # Exactly what the template requires: names and email (not mobile, not address).
        assert chat.text == PROMPTS[CustomerField.FIRST_NAME]
        await chat.send("Ada")
        assert chat.text == PROMPTS[CustomerField.LAST_NAME]
        await chat.send("Lovelace")
        assert chat.text == EMAIL_PROMPT
        await chat.send("ada@example.org")
        assert chat.text.startswith("Please check your booking:")
        await chat.press("✅ Confirm")

        assert chat.text.startswith("✅ Booked! See you soon.")
        for line in (
            f"Business: {BUSINESS_NAME}",
            "Service: Haircut",
            "When: Wednesday, March 6, 2030 at 10:00\u202fAM",
            "Time zone: Europe/Berlin",
            "Price: €25.00",
            "For: Ada Lovelace",
            "/mybookings",
        ):
            assert line in chat.text

        # The platform holds the appointment, booked once, for the details typed.
        assert len(world.add_requests()) == 1
        (appointment,) = world.appointments()
        assert appointment.template_id == world.haircut.id
        assert appointment.start == WEDNESDAY_10
        assert appointment.customer["firstName"] == "Ada"
        assert appointment.customer["lastName"] == "Lovelace"
        assert appointment.customer["email"] == "ada@example.org"
        assert "mobile" not in appointment.customer

        # Our mirror of it.
        (booking,) = await world.bookings()
        assert booking.provider_ref == appointment.id
        assert booking.status == "confirmed"
        assert booking.service_name == "Haircut"
        assert booking.customer_name == "Ada Lovelace"
        assert (booking.start_at, booking.end_at) == (appointment.start, appointment.end)
        assert (booking.price_amount, booking.currency) == (Decimal("25.00"), "EUR")
        assert booking.selection["service"] == [world.haircut.id]
        assert booking.user_id == chat.user_id

        # The fiche for next time.
        (fiche,) = await world.fiches()
        assert (fiche.first_name, fiche.last_name, fiche.email) == (
            "Ada",
            "Lovelace",
            "ada@example.org",
        )
        assert fiche.phone is None
        assert booking.fiche_id == fiche.id


async def test_stored_fiche_is_offered_next_time_and_books_without_asking_again(
    database_url: str,
) -> None:
    async with bookingtime_world(database_url) as world, running_bot(world.services) as chat:
        await book_haircut(chat)
        await choose_haircut_slot(chat, day="7", time="11:00 AM")

        assert chat.text.startswith("Who is this appointment for?")
        assert chat.labels[:2] == ["Book for Ada Lovelace (me)", "➕ Someone else"]
        await chat.press("Book for Ada Lovelace (me)")
        # Nothing asked again: straight to the summary.
        assert chat.text.startswith("Please check your booking:")
        assert "For: Ada Lovelace" in chat.text
        await chat.press("✅ Confirm")
        assert chat.text.startswith("✅ Booked! See you soon.")

        second = max(world.appointments(), key=lambda a: a.start)
        assert second.start == THURSDAY_11
        assert second.customer["email"] == "ada@example.org"
        (fiche,) = await world.fiches()
        bookings = await world.bookings()
        assert len(bookings) == 2
        assert {b.fiche_id for b in bookings} == {fiche.id}


async def test_reschedule_from_mybookings_moves_the_appointment_and_our_mirror(
    database_url: str,
) -> None:
    async with bookingtime_world(database_url) as world, running_bot(world.services) as chat:
        await book_haircut(chat)
        (appointment,) = world.appointments()

        await chat.send("/mybookings")
        assert "Wednesday, March 6, 2030 at 10:00\u202fAM — Haircut, Salon Mitte" in chat.text
        await chat.press(re.compile(r"^↻ Change \w+, Mar 6, 10:00\u202fAM$"))
        assert chat.text.startswith("Pick the new day for your appointment.")
        await chat.press("7")
        assert chat.text.startswith("Free times on Thursday, March 7, 2030")
        await chat.press(time_label("11:00 AM"))
        # Who it is for is not asked again.
        assert chat.text.startswith("Please check the new time:")
        assert "When: Thursday, March 7, 2030 at 11:00\u202fAM" in chat.text
        await chat.press("✅ Confirm")

        assert chat.text.startswith("✅ Your new time is confirmed.")
        assert "When: Thursday, March 7, 2030 at 11:00\u202fAM" in chat.text
        # Moved on the platform (same appointment, not a new one)...
        assert len(world.requests("PUT", f"appointment/{appointment.id}/move")) == 1
        assert len(world.add_requests()) == 1
        assert world.appointments() == [appointment]
        assert appointment.moved and appointment.start == THURSDAY_11
        # ... and in our mirror.
        (booking,) = await world.bookings()
        assert booking.provider_ref == appointment.id
        assert booking.start_at == THURSDAY_11
        assert booking.status == "confirmed"
        # The old time is free again.
        await choose_haircut_slot(chat, day="6", time="10:00 AM")
        assert chat.text.startswith("Who is this appointment for?")


async def test_cancel_from_mybookings_cancels_on_the_platform_and_in_our_mirror(
    database_url: str,
) -> None:
    async with bookingtime_world(database_url) as world, running_bot(world.services) as chat:
        await book_haircut(chat)
        (appointment,) = world.appointments()

        await chat.send("/mybookings")
        await chat.press(re.compile(r"^✖ Cancel \w+, Mar 6, 10:00\u202fAM$"))
        assert chat.text == "Cancel Haircut on Wednesday, March 6, 2030 at 10:00\u202fAM?"
        await chat.press("Yes, cancel it")

        assert chat.text == "Your appointment is cancelled."
        assert len(world.requests("PUT", f"appointment/{appointment.id}/cancel")) == 1
        assert appointment.canceled
        (booking,) = await world.bookings()
        assert booking.status == "cancelled"
        assert booking.cancelled_at is not None
        await chat.send("/mybookings")
        assert chat.text == "You have no upcoming appointments. Send /book to make one."


async def test_consultation_asks_for_staff_mobile_and_address_but_not_email(
    database_url: str,
) -> None:
    async with bookingtime_world(database_url) as world, running_bot(world.services) as chat:
        await chat.send("/book")
        await chat.press(CONSULTATION)
        assert chat.text.startswith("Who would you like to see?")
        assert chat.labels[:3] == ["No preference", "Anna", "Ben"]
        await chat.press("Anna")
        # bookingDayEarliest = 1: today cannot be tapped.
        assert "4" not in chat.labels and "5" in chat.labels
        await chat.press("5")
        await chat.press(time_label("9:00 AM"))
        await chat.send("Ada")
        await chat.send("Lovelace")
        assert chat.text == PROMPTS[CustomerField.PHONE].format(example="01512 3456789")
        await chat.share_contact("4930123456")
        assert chat.text == PROMPTS[CustomerField.ADDRESS]
        await chat.send("Unter den Linden 1, 10117 Berlin")
        assert chat.text.startswith("Please check your booking:")
        assert "With: Anna" in chat.text
        await chat.press("✅ Confirm")

        assert chat.text.startswith("✅ Booked! See you soon.")
        assert EMAIL_PROMPT not in chat.texts()
        (appointment,) = world.appointments()
        anna = next(r for r in world.consultation.pool if r.name == "Anna")
        assert appointment.resource_id == anna.id
        assert appointment.customer["mobile"] == "+4930123456"
        assert appointment.customer["address"] == {
            "street": "Unter den Linden 1",
            "zip": "10117",
            "city": "Berlin",
        }
        assert "email" not in appointment.customer
        (booking,) = await world.bookings()
        assert booking.resource_name == "Anna"
        assert booking.price_amount is None  # showPrice is off for this template


# -- tokens -------------------------------------------------------------------------------------


async def _texts_of_a_booking(world: BookingtimeWorld, expire_tokens: bool) -> list[str]:
    async with running_bot(world.services) as chat:
        await chat.send("/book")
        await chat.press(HAIRCUT)
        if expire_tokens:
            world.fake.clock.advance(301)  # the access token (300 s) has expired
        await chat.press("6")
        await chat.press(time_label("10:00 AM"))
        await enter_details(chat)
        if expire_tokens:
            world.fake.clock.advance(1801)  # and now the refresh token (1800 s) too
        await chat.press("✅ Confirm")
        return chat.texts()


async def test_token_expiry_mid_conversation_is_invisible_to_the_user(tmp_path: Path) -> None:
    async with bookingtime_world(f"sqlite+aiosqlite:///{tmp_path / 'calm.db'}") as calm:
        expected = await _texts_of_a_booking(calm, expire_tokens=False)
    async with bookingtime_world(
        f"sqlite+aiosqlite:///{tmp_path / 'expiring.db'}", idle_minutes=60
    ) as world:
        seen = await _texts_of_a_booking(world, expire_tokens=True)

        # Word for word what the user sees when no token expires.
        assert seen == expected
        assert seen[-1].startswith("✅ Booked! See you soon.")
        # Behind the scenes: the access token was renewed, then the whole chain restarted.
        assert world.fake.grants("client_credentials") == 2
        assert world.fake.grants("refresh_token") == 3
        assert all(r.status != 401 for r in world.fake.log)
        assert len(world.add_requests()) == 1
        assert len(world.appointments()) == 1


async def test_access_token_refused_mid_conversation_is_renewed_and_the_booking_made_once(
    database_url: str,
) -> None:
    async with bookingtime_world(database_url) as world, running_bot(world.services) as chat:
        await choose_haircut_slot(chat)
        await enter_details(chat)
        world.fake.revoke("access")  # the platform rotated its keys meanwhile

        await chat.press("✅ Confirm")

        assert chat.text.startswith("✅ Booked! See you soon.")
        # Refused unprocessed (401), sent again once with a new token: one appointment.
        assert [r.status for r in world.add_requests()] == [401, 201]
        assert world.fake.grants("refresh_token") == 2
        assert len(world.appointments()) == 1
        assert len(await world.bookings()) == 1


# -- no credential anywhere ---------------------------------------------------------------------


async def test_client_id_and_tokens_never_reach_database_state_logs_or_chat(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with bookingtime_world(database_url) as world, running_bot(world.services) as chat:
        await choose_haircut_slot(chat)
        await enter_details(chat)
        state_mid_flow = await world.conversation_state()
        assert world.haircut.id in state_mid_flow  # the state was really read
        await chat.press("✅ Confirm")
        world.fake.clock.advance(301)  # a renewal during the rest of the flow
        await chat.send("/mybookings")
        await chat.press(re.compile(r"^↻ Change \w+, Mar 6, 10:00\u202fAM$"))
        await chat.press("7")
        await chat.press(time_label("11:00 AM"))
        await chat.press("✅ Confirm")
        await chat.send("/mybookings")
        await chat.press(re.compile(r"^✖ Cancel \w+, Mar 7, 11:00\u202fAM$"))
        await chat.press("Yes, cancel it")
        assert chat.text == "Your appointment is cancelled."

        secrets = world.secrets()
        assert len(secrets) >= 3  # the canary, and tokens were really issued
        files = world.database_files()
        assert "bookbot.db" in files and "bookbot.db-wal" in files
        places = {
            "conversation state mid-flow": state_mid_flow,
            "conversation state": await world.conversation_state(),
            "every table": await world.every_table(),
            "logs": caplog.text
            + "\n".join(str(r.args) for r in caplog.records)
            + "\n".join(repr(r.__dict__) for r in caplog.records if r.exc_info),
            "Bot API calls": json.dumps([c.params for c in chat.api.calls], default=str),
        }
        assert caplog.records  # the logs were really captured
        for secret in secrets:
            for name, raw in files.items():
                assert secret.encode() not in raw, f"a credential is in {name}"
            for place, text in places.items():
                assert secret not in text, f"a credential is in the {place}"
        assert CANARY_CLIENT_ID not in repr(world.provider)
        assert CANARY_CLIENT_ID not in repr(world.provider.client)


# -- the platform down or slow ------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["timeout", "unavailable"])
async def test_platform_down_or_slow_offers_retry_and_keeps_the_users_place(
    database_url: str, mode: FailureMode
) -> None:
    async with bookingtime_world(database_url) as world, running_bot(world.services) as chat:
        await chat.send("/book")
        await chat.press(HAIRCUT)
        world.fake.control.fail_next(mode, 3, path_contains="listDay")

        await chat.press("6")

        assert chat.text == NOT_ANSWERING + "\n\nTry again in a moment."
        assert chat.labels == ["↻ Retry", "✖ Cancel"]
        # The read was retried (with backoff) before the user was told.
        assert len(world.requests("GET", "/day/6/listDay")) == 3

        await chat.press("↻ Retry")
        # Where they were: the times of the day they tapped, for the service they chose.
        assert chat.text.startswith("Free times on Wednesday, March 6, 2030")
        await chat.press(time_label("10:00 AM"))
        await enter_details(chat)
        assert "Service: Haircut" in chat.text
        await chat.press("✅ Confirm")
        assert chat.text.startswith("✅ Booked! See you soon.")
        assert len(world.appointments()) == 1


async def test_platform_down_when_the_booking_starts_offers_a_retry_that_works(
    database_url: str,
) -> None:
    async with bookingtime_world(database_url) as world, running_bot(world.services) as chat:
        world.fake.control.fail_next("unavailable", 3, path_contains="bookingTemplate/list")

        await chat.send("/book")

        assert chat.text.startswith(NOT_ANSWERING)
        assert "↻ Retry" in chat.labels
        await chat.press("↻ Retry")
        assert chat.text.startswith("Which service would you like?")
        assert HAIRCUT in chat.labels


@pytest.mark.parametrize("mode", ["timeout", "unavailable"])
async def test_appointment_add_is_never_retried_blindly(
    database_url: str, mode: FailureMode
) -> None:
    async with bookingtime_world(database_url) as world, running_bot(world.services) as chat:
        await choose_haircut_slot(chat)
        await enter_details(chat)
        world.fake.control.fail_next(mode, 1, path_contains="appointment/add")

        await chat.press("✅ Confirm")

        assert chat.text.startswith(NO_ANSWER_TO_BOOKING)
        assert "↻ Retry" in chat.labels
        assert len(world.add_requests()) == 1  # sent once, not again behind the user's back
        assert world.appointments() == []
        assert await world.bookings() == []

        await chat.press("↻ Retry")  # the user decides to send it again

        assert chat.text.startswith("✅ Booked! See you soon.")
        assert len(world.add_requests()) == 2
        assert len(world.appointments()) == 1
        assert len(await world.bookings()) == 1


async def test_a_lost_answer_bookingtime_cannot_look_up_is_told_as_unknown(
    database_url: str,
) -> None:
    """bookingtime shows an appointment by its id only, which a lost answer never gave us: the
    sweep settles the Confirm as unknown and tells the user so, honestly; a Retry they then
    choose goes ahead."""
    async with bookingtime_world(database_url) as world, running_bot(world.services) as chat:
        await choose_haircut_slot(chat)
        await enter_details(chat)
        world.fake.control.fail_next("timeout", 1, path_contains="appointment/add")
        await chat.press("✅ Confirm")
        assert chat.text.startswith(NO_ANSWER_TO_BOOKING)

        world.fake.clock.advance(180)  # past the confirming grace
        await chat.application.bot_data.engine.sweep_expired()
        assert await world.notices() == [
            "We could not find out whether your last confirmation went through. "
            "Please check with the business before you book again."
        ]
        assert await world.bookings() == []

        await chat.press("↻ Retry")
        assert chat.text.startswith("✅ Booked! See you soon.")
        assert len(await world.bookings()) == 1


# -- the platform refuses ---------------------------------------------------------------------


async def test_email_refused_by_the_platform_is_asked_again_keeping_the_other_answers(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with bookingtime_world(database_url) as world, running_bot(world.services) as chat:
        world.refuse_emails(monkeypatch, r"@mailinator\.com$")
        await choose_haircut_slot(chat)
        await enter_details(chat, email="ada@mailinator.com")  # our own check accepts it

        await chat.press("✅ Confirm")

        # The platform's own words, then that one field again (required: no Skip).
        assert chat.text == "Disposable email addresses are not accepted.\n\n" + EMAIL_PROMPT
        assert "Skip" not in chat.labels
        assert world.appointments() == []
        await chat.send("ada@example.org")
        # Names, service and time were kept.
        assert chat.text.startswith("Please check your booking:")
        assert "For: Ada Lovelace" in chat.text
        assert "When: Wednesday, March 6, 2030 at 10:00\u202fAM" in chat.text
        await chat.press("✅ Confirm")

        assert chat.text.startswith("✅ Booked! See you soon.")
        (appointment,) = world.appointments()
        assert appointment.customer["firstName"] == "Ada"
        assert appointment.customer["email"] == "ada@example.org"
        assert len(world.add_requests()) == 2
        (fiche,) = await world.fiches()
        assert fiche.email == "ada@example.org"


async def test_the_platforms_own_refusal_text_reaches_a_french_user_unchanged(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The business's own words, in its language: shown as they are, not run through our
    # catalog; what comes after them is ours, in French.
    refusal = "Les adresses jetables ne sont pas acceptées : merci d’en donner une autre."
    async with bookingtime_world(database_url) as world, running_bot(world.services) as chat:
        world.refuse_emails(monkeypatch, r"@mailinator\.com$", text=refusal)
        await choose_haircut_slot(chat)
        await enter_details(chat, email="ada@mailinator.com")
        await chat.send("/language")
        await chat.press("Français")

        await chat.press("✅ Confirmer")

        assert chat.text == refusal + "\n\n" + gettext("fr", EMAIL_PROMPT)
        assert world.appointments() == []


@pytest.mark.parametrize("status", [409, 400])
async def test_slot_taken_between_choice_and_confirm_offers_the_next_free_slots(
    tmp_path: Path, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake = FakeBookingtime(client_id=CANARY_CLIENT_ID, slot_taken_status=status)
    url = f"sqlite+aiosqlite:///{tmp_path / 'bookbot.db'}"
    async with bookingtime_world(url, fake=fake) as world, running_bot(world.services) as chat:
        await choose_haircut_slot(chat)
        await enter_details(chat)
        # Someone else books 10:00 meanwhile.
        selection = haircut_selection(world)
        slots = await world.provider.slots(selection, date(2030, 3, 6))
        taken = next(s for s in slots if s.start == WEDNESDAY_10)
        await world.provider.book(
            selection, taken, CustomerDetails("Grace", "Hopper", email="g@h.org")
        )

        await chat.press("✅ Confirm")

        assert chat.text.startswith(
            "Sorry, that time was just taken. Here are the next free times.\n\n"
            "Free times on Wednesday, March 6, 2030"
        )
        assert time_label("10:00 AM") not in chat.labels
        times = [label for label in chat.labels if label[0].isdigit()]
        assert times[0] == time_label("10:30 AM")
        await chat.press(time_label("10:30 AM"))
        # The details were kept.
        assert chat.text.startswith("Please check your booking:")
        assert "For: Ada Lovelace" in chat.text
        await chat.press("✅ Confirm")

        assert chat.text.startswith("✅ Booked! See you soon.")
        assert "10:30\u202fAM" in chat.text
        mine = next(a for a in world.appointments() if a.customer["firstName"] == "Ada")
        assert mine.start == datetime(2030, 3, 6, 9, 30, tzinfo=UTC)
        (booking,) = await world.bookings()
        assert booking.provider_ref == mine.id
        assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


# -- a refusal naming a detail the form did not ask ---------------------------------------------


async def test_a_refusal_naming_a_detail_not_asked_asks_for_it_and_then_books(
    database_url: str,
) -> None:
    async with bookingtime_world(database_url) as world, running_bot(world.services) as chat:
        await choose_haircut_slot(chat)
        await enter_details(chat)
        world.fake.control.refuse_next_add(
            400, "This value should not be blank.", "customer.birthday"
        )
        await chat.press("✅ Confirm")
        assert "Please type the date of birth" in chat.text, chat.text
        await chat.send("17/05/1990")
        assert chat.text.startswith("Please check your booking:")
        await chat.press("✅ Confirm")
        assert "Booked!" in chat.text
        assert world.fake.add_bodies[-1]["customer"]["birthday"] == "1990-05-17"
        assert len(world.appointments()) == 1


async def test_a_refusal_naming_the_postcode_asks_for_the_address_in_a_form_that_sends_it(
    database_url: str,
) -> None:
    """A back end that needs the postcode and town refuses a street alone: the customer is told
    what the address must hold, types it so, and the booking goes through with both sent."""
    async with bookingtime_world(database_url) as world, running_bot(world.services) as chat:
        world.consultation.address_parts_required = ("zip", "city")
        await chat.send("/book")
        await chat.press(CONSULTATION)
        await chat.press("Anna")
        await chat.press("5")
        await chat.press(time_label("9:00 AM"))
        await chat.send("Ada")
        await chat.send("Lovelace")
        await chat.share_contact("4930123456")
        assert chat.text == PROMPTS[CustomerField.ADDRESS]
        await chat.send("Unter den Linden 1")
        await chat.press("✅ Confirm")

        assert "needs the postcode and town of the address" in chat.text
        assert "“street, postcode town”" in chat.text
        assert chat.text.endswith(PROMPTS[CustomerField.ADDRESS])
        assert world.appointments() == []
        await chat.send("Unter den Linden 1, 10117 Berlin")
        assert chat.text.startswith("Please check your booking:")
        await chat.press("✅ Confirm")
        assert chat.text.startswith("✅ Booked! See you soon.")
        (appointment,) = world.appointments()
        assert appointment.customer["address"]["zip"] == "10117"
        assert appointment.customer["address"]["city"] == "Berlin"
