"""News (broadcasts) needs the customer's yes, asked with their first booking; reminders stay
on by default; a choice already stored is kept as it is."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.delivery.broadcasts import count_audience
from bot.delivery.preferences import get_preference, set_preference
from bot.services import Services
from storage.delivery_models import Delivery
from storage.models import Business
from tests.bot.harness import running_bot
from tests.bot.test_local_booking import book_haircut

ALL = {"kind": "all"}


async def audience(services: Services) -> int:
    async with services.sessions() as session:
        business = await session.get(Business, services.business_ids["sample-salon"])
        assert business is not None
        return await count_audience(session, business, ALL)


async def test_a_new_customer_gets_reminders_but_no_news_until_they_say_yes(
    services: Services,
) -> None:
    business_id = services.business_ids["sample-salon"]
    async with running_bot(services) as chat:
        await book_haircut(chat)
        await chat.press("✅ Confirm")
        assert "Booked!" in chat.text
        assert "Would you like news from Salon Belle Rue?" in chat.text
        assert await audience(services) == 0  # a customer, but never said yes
        async with services.sessions() as session:
            reminders = await session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.kind == "reminder")
            )
            assert await get_preference(session, chat.user_id, business_id) == (True, False)
        assert reminders and reminders >= 1  # reminders are on by default

        confirmation = chat.text
        await chat.press("🔔 Yes, send me news")
        assert chat.calls("answerCallbackQuery")[-1].params["text"] == (
            "News from Salon Belle Rue is on. /settings turns it off."
        )
        # the button goes, the confirmation stays on screen as it was
        assert chat.calls("editMessageReplyMarkup")[-1].params.get("reply_markup") is None
        assert chat.text == confirmation
        assert await audience(services) == 1

        # asked once: the next booking does not ask again
        await chat.send("/book")
        await chat.press("Haircut · 30 min · €25.00")
        await chat.press("Anna")
        await chat.press_first_day()
        await chat.press_first_time()
        await chat.press("Book for Anna Martin (me)")
        await chat.press("✅ Confirm")
        assert "Booked!" in chat.text
        assert "Would you like news" not in chat.text
        assert "🔔 Yes, send me news" not in chat.labels


async def test_choices_stored_before_are_kept(services: Services) -> None:
    business_id = services.business_ids["sample-salon"]
    async with (
        running_bot(services, user_id=1) as said_yes,
        running_bot(services, user_id=2) as said_no,
    ):
        # Their rows, as /settings wrote them before news became opt-in.
        async with services.sessions() as session, session.begin():
            await set_preference(session, 1, business_id, news=True)
            await set_preference(session, 2, business_id, news=False)
        for chat in (said_yes, said_no):
            await book_haircut(chat)
            await chat.press("✅ Confirm")
            assert "Booked!" in chat.text
            assert "Would you like news" not in chat.text  # they chose already
    assert await audience(services) == 1


async def test_a_customer_who_only_switched_reminders_is_still_asked_about_news_once(
    services: Services,
) -> None:
    business_id = services.business_ids["sample-salon"]
    async with running_bot(services) as chat:
        async with services.sessions() as session, session.begin():
            await set_preference(session, chat.user_id, business_id, reminders=False)
        await book_haircut(chat)
        await chat.press("✅ Confirm")
        assert "Would you like news from Salon Belle Rue?" in chat.text
        await chat.press("🔔 Yes, send me news")
        async with services.sessions() as session:
            # the yes is added to the reminders choice, which is kept
            assert await get_preference(session, chat.user_id, business_id) == (False, True)
    assert await audience(services) == 1
