"""/enter: an admin books for a customer who phoned; the customer claims the booking in
Telegram with the deep link (/start claim-<token>) and gets it in /mybookings with reminders."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.config import AppConfig
from bot.services import Services, build_services
from storage.delivery_models import Delivery
from storage.models import Admin, Booking, Fiche, LocalAppointment
from tests.bot.harness import running_bot

ADMIN, CUSTOMER, SOMEONE = 50, 70, 71
NOW = datetime(2027, 3, 1, 7, 0, tzinfo=UTC)  # Monday 08:00 in Paris
ENTER = "/enter cut anna 2027-03-02 10:00 +33612345678 Jeanne Dupont"


@pytest.fixture
async def salon(sample_config: AppConfig) -> AsyncIterator[Services]:
    built = await build_services(sample_config, env={}, clock=lambda: NOW)
    async with built.sessions() as s, s.begin():
        s.add(Admin(user_id=ADMIN, business_id=built.business_ids["sample-salon"], role="admin"))
    yield built
    await built.aclose()


async def enter(services: Services) -> str:
    async with running_bot(services, user_id=ADMIN) as admin:
        await admin.send(ENTER)
        assert admin.text.startswith(
            "Booked for Jeanne Dupont: Haircut with Anna, Tuesday, March 2, 2027 at 10:00"
        )
        match = re.search(r"/start (claim-[\w-]+)$", admin.text)
        assert match is not None, admin.text
        return match.group(1)


async def test_a_phoned_in_booking_is_claimed_by_the_customer(salon: Services) -> None:
    payload = await enter(salon)
    async with salon.sessions() as s:
        booking = (await s.scalars(select(Booking))).one()
        assert booking.user_id < 0 and booking.customer_name == "Jeanne Dupont"
        fiche = await s.get(Fiche, booking.fiche_id)
        assert fiche is not None and fiche.phone == "+33612345678"
        appointment = (await s.scalars(select(LocalAppointment))).one()
        assert appointment.customer_phone == "+33612345678"
        kinds = sorted((d.kind, d.user_id) for d in await s.scalars(select(Delivery)))
        assert kinds == [("business", ADMIN)]  # no reminder to a customer without a chat
    async with running_bot(salon, user_id=CUSTOMER) as customer:
        await customer.send(f"/start {payload}")
        assert (
            customer.text
            == "Your booking at Salon Belle Rue is now yours here: see it in /mybookings."
        )
        await customer.send("/mybookings")
        assert "Tuesday, March 2, 2027 at 10:00\u202fAM — Haircut, Salon Belle Rue" in customer.text
    async with running_bot(salon, user_id=SOMEONE) as someone:
        await someone.send(f"/start {payload}")  # the same link again
        assert someone.text.startswith("This link is not valid any more")
        await someone.send("/start claim-forged")
        assert someone.text.startswith("This link is not valid any more")
        await someone.send("/start")
        assert someone.text.startswith("Hello! I can book you an appointment.")
    async with salon.sessions() as s:
        booking = (await s.scalars(select(Booking))).one()
        assert (booking.user_id, booking.chat_id) == (CUSTOMER, CUSTOMER)
        reminders = [d for d in await s.scalars(select(Delivery)) if d.kind == "reminder"]
        assert {d.chat_id for d in reminders} == {CUSTOMER} and len(reminders) == 2


async def test_enter_checks_the_time_and_who_asks(salon: Services) -> None:
    await enter(salon)
    async with running_bot(salon, user_id=ADMIN) as admin:
        # typed the national way, read in the business's country
        await admin.send("/enter cut anna 2027-03-02 11:00 0612345678 Paul Durand")
        assert admin.text.startswith("Booked for Paul Durand")
        await admin.send(ENTER)  # the same time again
        assert admin.text.startswith("That time is not free")
        await admin.send("/enter cut anna 2027-03-02 10:00 12 Jeanne")  # too short
        assert admin.text.startswith("That does not look like a phone number.")
        await admin.send("/enter perm anna 2027-03-02 11:00 +33612345678 Jeanne")
        assert admin.text.startswith("Send /enter [business]")
    async with running_bot(salon, user_id=CUSTOMER) as customer:
        await customer.send("/frobnicate")
        unknown = customer.text
        await customer.send(ENTER.replace("10:00", "12:00"))
        assert customer.text == unknown
    async with salon.sessions() as s:
        assert len(list(await s.scalars(select(Booking)))) == 2
