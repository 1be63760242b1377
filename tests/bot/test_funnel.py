"""The booking funnel of /stats: each step counted once per booking conversation, the first
time it is reached, per business and day, in the transaction that stores the turn's state."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import select

from bot.config import AppConfig
from bot.i18n import gettext
from bot.services import Services, build_services
from storage import funnel
from storage.admin_models import FunnelCount
from storage.models import Admin, Business
from tests.bot.harness import running_bot
from tests.bot.test_local_booking import book_haircut
from tests.storage.postgres import postgres_url

__all__ = ["postgres_url"]  # the fixture, imported so pytest finds it here

ADMIN = 50
HAIRCUT = "Haircut · 30 min · €25.00"


def funnel_block(text: str, title: str = "Booking funnel") -> list[str]:
    [block] = [b for b in text.split("\n\n") if b.startswith(title)]
    return block.splitlines()


async def test_stats_shows_each_step_reached_its_share_and_who_stopped_there(
    services: Services,
) -> None:
    salon = services.business_ids["sample-salon"]
    today = services.clock().astimezone(services.business("sample-salon").zone).date()
    async with services.sessions() as s, s.begin():
        s.add(Admin(user_id=ADMIN, business_id=salon, role="admin"))
        barber = Business(slug="barber", name="Barber", provider_kind="local", timezone="UTC")
        s.add(barber)
    # Another business's counts on the same day, and the salon's before the period: neither
    # may show in the salon's funnel.
    async with services.engine.begin() as connection:
        await connection.run_sync(
            funnel.count,
            [
                funnel.Reached(barber.id, today, "started", 0),
                funnel.Reached(barber.id, today, "service", 1),
                funnel.Reached(barber.id, today, "booked", 7),
                funnel.Reached(salon, today - timedelta(days=45), "started", 0),
            ],
        )
    async with running_bot(services, user_id=101) as chat:
        await chat.send("/book")  # stops at the service choice
    async with running_bot(services, user_id=102) as chat:
        await chat.send("/book")
        await chat.press(HAIRCUT)  # stops at the staff choice
    async with running_bot(services, user_id=103) as chat:
        await chat.send("/book")
        await chat.press(HAIRCUT)
        await chat.press("Anna")
        await chat.press("« Back")  # back to the staff and forward again: counted once
        await chat.press("Anna")
        await chat.send("/book")  # asked to continue or start over: nothing counted
        await chat.press("Continue my booking")  # stops at the date
    for user in (104, 105):
        async with running_bot(services, user_id=user) as chat:
            await book_haircut(chat)
            await chat.press("✅ Confirm")
            assert "Booked!" in chat.text
    async with running_bot(services, user_id=106) as chat:
        await book_haircut(chat)
        await chat.press("✖ Cancel")  # gives up at the confirmation

    async with running_bot(services, user_id=ADMIN) as admin:
        await admin.send("/stats")
        assert funnel_block(admin.text) == [
            "Booking funnel (counted since this version of the bot: conversations before it "
            "are not in it). Each step: how many reached it, their share of the previous step, "
            "and how many stopped there (gave up, or are still on it):",
            "Bookings started: 6",
            "Service choice: 6 reached, 100% of the previous step, 1 stopped here",
            "Staff choice: 5 reached, 83% of the previous step, 1 stopped here",
            "Date choice: 4 reached, 80% of the previous step, 1 stopped here",
            "Time choice: 3 reached, 75% of the previous step, 0 stopped here",
            "Details: 3 reached, 100% of the previous step, 0 stopped here",
            "Review and confirm: 3 reached, 100% of the previous step, 1 stopped here",
            "Booked: 2, 67% of the previous step",
        ]
        later = today + timedelta(days=400)
        await admin.send(f"/stats {later} {later}")
        assert funnel_block(admin.text) == [
            "Booking funnel: no booking started in this period (counted since this version of "
            "the bot: conversations before it are not in it)."
        ]
    async with running_bot(services, user_id=ADMIN, language="fr") as admin:
        await admin.send("/stats")
        lines = funnel_block(admin.text, "Parcours de réservation")
        assert lines[1] == "Réservations commencées : 6"
        # the table's figures too, in French typography (a space before the colon)
        assert "\nRéservations faites : " in admin.text
        assert lines[3].replace("\u202f", " ").replace("\u00a0", " ") == (
            "Choix du membre de l'équipe : 5 atteinte(s), 83 % de l'étape précédente, "
            "1 arrêt(s) ici"
        )
    async with services.sessions() as s:
        rows = (
            await s.execute(
                select(FunnelCount.step, FunnelCount.reached).where(
                    FunnelCount.business_id == barber.id
                )
            )
        ).all()
    assert sorted(rows) == [("booked", 1), ("service", 1), ("started", 1)]  # left as it was


def test_a_period_that_starts_after_the_bookings_began_still_shows_its_steps() -> None:
    from bot.admin.stats import funnel_table

    turn = SimpleNamespace(t=lambda text, **kw: gettext("en", text, **kw), language="en")
    steps = [funnel.StepCount("slot", 2), funnel.StepCount("customer", 3)]
    assert funnel_table(turn, steps).splitlines()[1:] == [  # type: ignore[arg-type]
        "Bookings started: 0",
        "Time choice: 2 reached, - of the previous step, 0 stopped here",
        "Details: 3 reached, 150% of the previous step, 3 stopped here",
    ]


async def test_a_reschedule_is_not_a_new_booking_in_the_funnel(services: Services) -> None:
    async with running_bot(services, user_id=104) as chat:
        await book_haircut(chat)
        await chat.press("✅ Confirm")
        await chat.send("/mybookings")
        await chat.press(re.compile(r"^↻ Change"))
        await chat.press_first_day()
        await chat.press_first_time()
        assert chat.text.startswith("Please check the new time")
        await chat.press("✅ Confirm")  # moved: no second "booked"
    async with services.sessions() as s:
        rows = dict((await s.execute(select(FunnelCount.step, FunnelCount.reached))).all())
    assert rows == {
        "started": 1, "service": 1, "staff": 1, "date": 1, "slot": 1, "customer": 1,
        "confirm": 1, "booked": 1,
    }  # fmt: skip


async def test_the_funnel_counts_in_the_turns_transaction_on_postgresql(
    sample_config: AppConfig, postgres_url: str
) -> None:
    """On PostgreSQL a turn's lone state write runs in autocommit mode; a turn that reaches a
    step writes its state and its counts in one transaction instead."""
    services = await build_services(
        sample_config.model_copy(update={"database_url": postgres_url}), env={}
    )
    try:
        assert services.engine.dialect.name == "postgresql"
        for user in (201, 202):
            async with running_bot(services, user_id=user) as chat:
                await book_haircut(chat)
                await chat.press("✅ Confirm")
        async with running_bot(services, user_id=203) as chat:
            await chat.send("/book")
            await chat.press(HAIRCUT)
        async with services.sessions() as s:
            rows = dict((await s.execute(select(FunnelCount.step, FunnelCount.reached))).all())
        assert rows == {
            "started": 3, "service": 3, "staff": 3, "date": 2, "slot": 2, "customer": 2,
            "confirm": 2, "booked": 2,
        }  # fmt: skip
    finally:
        await services.aclose()
