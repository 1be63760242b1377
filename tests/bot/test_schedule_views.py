"""/today, /tomorrow, /week and /bookings <date>: the business's schedule from our mirror, ten to
a page; staff see only their own; everyone else gets the unknown-command answer."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete

from bot.services import Services
from storage.models import Admin, Business, Fiche, User
from tests.bot.harness import running_bot
from tests.delivery.conftest import booking_row

ADMIN, ANNA, CUSTOMER, OTHER_ADMIN = 50, 60, 70, 80
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
async def schedule(services: Services) -> date:
    """Today (in Paris): 12 bookings with Anna from 08:00, 1 with Marc, 1 cancelled; tomorrow
    one; and one at another business."""
    salon = services.business_ids["sample-salon"]
    today = services.clock().astimezone(PARIS).date()
    async with services.sessions() as s, s.begin():
        other = Business(slug="barber", name="Barber", provider_kind="local", timezone="UTC")
        s.add_all([other, User(id=CUSTOMER, first_name="Cleo")])
        await s.flush()
        fiche = Fiche(
            user_id=CUSTOMER,
            business_id=salon,
            first_name="Cleo",
            last_name="C",
            phone="+33611111111",
        )
        s.add(fiche)
        await s.flush()

        def at(day: date, hour: int, minute: int = 0) -> datetime:
            return datetime.combine(day, time(hour, minute), PARIS)

        for i in range(12):
            s.add(
                booking_row(
                    CUSTOMER,
                    salon,
                    at(today, 8, i * 5),
                    resource_name="Anna",
                    customer_name=f"Cust {i:02d}",
                    fiche_id=fiche.id,
                )
            )
        s.add(
            booking_row(
                CUSTOMER,
                salon,
                at(today, 21),
                resource_name="Marc",
                customer_name="Marc's customer",
            )
        )
        s.add(
            booking_row(
                CUSTOMER,
                salon,
                at(today, 22),
                resource_name="Anna",
                customer_name="Gone",
                status="cancelled",
            )
        )
        s.add(
            booking_row(
                CUSTOMER,
                salon,
                at(today + timedelta(days=1), 10),
                resource_name="Anna",
                customer_name="Tomorrow's",
            )
        )
        s.add(booking_row(CUSTOMER, other.id, at(today, 12), customer_name="Barber's"))
        s.add_all(
            [
                Admin(user_id=ADMIN, business_id=salon, role="admin"),
                Admin(
                    user_id=ANNA, business_id=salon, role="staff", staff_name="Anna", granted_by=1
                ),
                Admin(user_id=OTHER_ADMIN, business_id=other.id, role="admin", granted_by=1),
            ]
        )
    return today


async def test_an_admin_pages_through_today(services: Services, schedule: date) -> None:
    async with running_bot(services, user_id=ADMIN) as admin:
        await admin.send("/today")
        lines = admin.text.splitlines()
        assert lines[0].startswith("Salon Belle Rue, ") and len(lines) == 11
        assert lines[1] == "8:00\u202fAM · Haircut · Anna · Cust 00 · +33611111111"
        assert admin.labels[0] == "8:00\u202fAM · Cust 00" and admin.labels[-1] == "Next ›"
        assert len(admin.labels) == 11  # a button per booking opens it (bot.admin.calendar)
        await admin.press("Next ›")
        lines = admin.text.splitlines()
        assert [line.split(" · ")[3] for line in lines[1:]] == [
            "Cust 10",
            "Cust 11",
            "Marc's customer",
        ]
        assert "Gone" not in admin.text and "Barber's" not in admin.text
        assert admin.labels[-1] == "‹ Previous"
        await admin.send("/tomorrow")
        assert admin.text.splitlines()[1:] == ["10:00\u202fAM · Haircut · Anna · Tomorrow's · —"]
        await admin.send("/week")
        assert "Tomorrow's" not in admin.text  # page 1 of 14: today's first ten
        await admin.send(f"/bookings {schedule + timedelta(days=1)}")
        assert "Tomorrow's" in admin.text
        await admin.send(f"/bookings {schedule + timedelta(days=2)}")
        assert admin.text.endswith("No appointments.")
        await admin.send("/bookings next friday")
        assert admin.text.startswith("Send /bookings YYYY-MM-DD")


async def test_staff_see_their_own_schedule_only(services: Services, schedule: date) -> None:
    async with running_bot(services, user_id=ANNA) as anna:
        await anna.send("/today")
        assert "Anna's schedule" in anna.text.splitlines()[0]
        await anna.press("Next ›")
        assert [line.split(" · ")[3] for line in anna.text.splitlines()[1:]] == [
            "Cust 10",
            "Cust 11",
        ]


async def test_no_one_else_sees_the_salons_schedule(services: Services, schedule: date) -> None:
    async with running_bot(services, user_id=CUSTOMER) as customer:
        await customer.send("/frobnicate")
        unknown = customer.text
        for command in ("/today", "/tomorrow", "/week", f"/bookings {schedule}"):
            await customer.send(command)
            assert customer.text == unknown
        await customer.tap(f"v:{services.business_ids['sample-salon']}:{schedule}:1:0")
        assert customer.api.sent()[-1].params["text"] == unknown  # a forged action is no token
    async with running_bot(services, user_id=OTHER_ADMIN) as other:
        await other.send("/today")
        assert other.text.startswith("Barber, ") and "Barber's" in other.text
        assert "Cust" not in other.text


async def test_a_page_button_after_the_role_is_revoked_shows_nothing(
    services: Services, schedule: date
) -> None:
    async with running_bot(services, user_id=ANNA) as anna:
        await anna.send("/today")
        async with services.sessions() as s, s.begin():
            await s.execute(delete(Admin).where(Admin.user_id == ANNA))
        before = len(anna.api.sent())
        await anna.press("Next ›")
        assert len(anna.api.sent()) == before
        alerts = [c.params.get("text") for c in anna.calls("answerCallbackQuery")]
        assert alerts[-1] == "This menu has expired."
