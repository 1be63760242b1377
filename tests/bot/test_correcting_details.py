"""A customer can correct any detail: Back from a field asks the one before it again, the
confirm screen shows every detail, and Back or "Change my details" there opens a review where
each one can be changed."""

from __future__ import annotations

from sqlalchemy import select

from bot.services import Services
from storage.models import Fiche
from tests.bot.harness import ChatDriver, running_bot
from tests.bot.test_local_booking import book_haircut
from tests.bot.test_local_robustness import reach_details
from tests.bot.test_local_screens import state_of, store_state


async def test_the_summary_shows_every_detail_typed(services: Services) -> None:
    async with running_bot(services) as chat:
        await book_haircut(chat, phone_by_contact=False)
        assert "Phone: +33 6 12 34 56 78" in chat.text
        assert "Email: anna@example.org" in chat.text


async def test_back_on_the_confirm_screen_of_a_first_time_customer_opens_the_review(
    services: Services,
) -> None:
    async with running_bot(services) as chat:
        await book_haircut(chat)
        summary = chat.text
        await chat.press("« Back")
        assert chat.text != summary
        assert "Your details. Tap one to change it:" in chat.text
        assert "First name: Anna" in chat.text
        await chat.press("✏️ Email")
        assert "Now: anna@example.org" in chat.text
        assert "Keep it" in chat.labels
        await chat.send("anna@")  # a typo while correcting: said so, the old value kept
        assert "does not look like an email address" in chat.text
        assert "Now: anna@example.org" in chat.text
        await chat.send("anna.martin@example.org")
        assert "Email: anna.martin@example.org" in chat.text  # back at the review
        await chat.press("✅ Done")
        assert "Please check your booking" in chat.text
        assert "Email: anna.martin@example.org" in chat.text
        await chat.press("✅ Confirm")
        assert "Booked!" in chat.text
    async with services.sessions() as session:
        assert (await session.scalars(select(Fiche.email))).one() == "anna.martin@example.org"


async def test_back_from_a_detail_asks_the_one_before_it_again(services: Services) -> None:
    async with running_bot(services) as chat:
        await reach_details(chat)
        await chat.send("Anan")  # a typo in the first name
        assert "last name" in chat.text
        await chat.press("« Back")
        assert "Now: Anan" in chat.text and "first name" in chat.text
        await chat.send("Anna")
        assert "last name" in chat.text  # on where the customer was
        await chat.send("Martin")
        await chat.send("+33 6 12 34 56 78")
        assert "email" in chat.text
        await chat.press("« Back")
        assert "Now: +33 6 12 34 56 78" in chat.text
        await chat.press("Keep it")
        assert "email" in chat.text
        await chat.send("anna@example.org")
        assert "Please check your booking" in chat.text
        assert "For: Anna Martin" in chat.text


async def confirm_screen_of_a_returning_customer(chat: ChatDriver) -> None:
    await book_haircut(chat)
    await chat.press("✅ Confirm")
    await chat.send("/book")
    await chat.press("Haircut · 30 min · €25.00")
    await chat.press("Anna")
    await chat.press_first_day()
    await chat.press_first_time()
    await chat.press("Book for Anna Martin (me)")
    assert "Please check your booking" in chat.text


async def test_a_returning_customer_changes_a_stored_detail_from_the_confirm_screen(
    services: Services,
) -> None:
    async with running_bot(services) as chat:
        await confirm_screen_of_a_returning_customer(chat)
        await chat.press("✏️ Change my details")
        await chat.press("✏️ Phone")
        await chat.send("07 98 76 54 32")
        await chat.press("✅ Done")
        assert "Phone: +33 7 98 76 54 32" in chat.text
        # Back from this confirm screen is the usual one: the stored people
        await chat.press("« Back")
        assert "Book for Anna Martin (me)" in chat.labels


async def test_a_state_stored_while_a_personal_identifier_was_asked_asks_the_forms_details(
    services: Services,
) -> None:
    """A conversation stored while a platform still had the customer type an identifier (Qmatic
    before it generated its own) loads, and what the user then types is not taken as one: the
    step asks the details its form lists."""
    async with running_bot(services) as chat:
        await reach_details(chat)
        await chat.send("Anna")
        state = await state_of(services, chat.user_id)
        state["b"]["field"] = "personal_id"
        await store_state(services, state, chat.user_id)
        await chat.send("19800101-1234")
        assert "last name" in chat.text
        assert "personal_id" not in (await state_of(services, chat.user_id))["b"]["cust"]
        await chat.send("Martin")
        assert "phone" in chat.text
