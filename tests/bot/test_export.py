"""/export: the business's bookings as a CSV file and an .ics calendar, parsed back here, with
exactly that business's bookings of the period; refused like an unknown command otherwise."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from icalendar import Calendar
from sqlalchemy import select

from bot.services import Services
from storage.admin_models import AuditEntry
from storage.models import Admin, Business, Fiche, User
from tests.bot.harness import running_bot
from tests.delivery.conftest import booking_row

ADMIN, CUSTOMER = 50, 70
START = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)


async def seed(services: Services) -> None:
    salon = services.business_ids["sample-salon"]
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
            email="cleo@example.org",
        )
        s.add(fiche)
        await s.flush()
        s.add(
            booking_row(
                CUSTOMER,
                salon,
                START,
                resource_name="Anna",
                customer_name="Cleo C",
                fiche_id=fiche.id,
                price_amount=Decimal("25.00"),
                currency="EUR",
            )
        )
        s.add(
            booking_row(
                CUSTOMER,
                salon,
                START + timedelta(days=1),
                customer_name='Gone, "quoted"',
                status="cancelled",
            )
        )
        s.add(booking_row(CUSTOMER, salon, START + timedelta(days=40), customer_name="Later"))
        s.add(booking_row(CUSTOMER, other.id, START, customer_name="Barber's"))
        s.add(Admin(user_id=ADMIN, business_id=salon, role="admin"))


async def test_export_parses_back_to_the_businesss_bookings_of_the_period(
    services: Services,
) -> None:
    await seed(services)
    async with running_bot(services, user_id=ADMIN) as admin:
        await admin.send("/export 2026-12-01 2026-12-31")
        assert admin.text.startswith("Bookings from 2026-12-01 to 2026-12-31")
        uploads = [c.files for c in admin.calls("sendDocument")]
    assert len(uploads) == 2
    [csv_bytes], [ics_bytes] = (list(u.values()) for u in uploads)
    rows = list(csv.DictReader(io.StringIO(csv_bytes.decode())))
    assert [(r["customer"], r["status"]) for r in rows] == [
        ("Cleo C", "confirmed"),
        ('Gone, "quoted"', "cancelled"),
    ]
    assert rows[0]["start"] == "2026-12-10T10:00:00+01:00"  # the salon's zone
    assert (rows[0]["phone"], rows[0]["email"], rows[0]["price"]) == (
        "+33611111111", "cleo@example.org", "25.00",
    )  # fmt: skip
    calendar = Calendar.from_ical(ics_bytes)
    events = calendar.walk("VEVENT")
    assert [str(e["summary"]) for e in events] == [
        "Haircut (Anna): Cleo C",
        'Haircut: Gone, "quoted"',
    ]
    assert [str(e["status"]) for e in events] == ["CONFIRMED", "CANCELLED"]
    assert events[0].decoded("dtstart") == START
    assert str(calendar["x-wr-calname"]) == "Salon Belle Rue"
    async with services.sessions() as s:
        [entry] = await s.scalars(select(AuditEntry))
    assert (entry.action, entry.detail["rows"]) == ("export", 2)


async def test_export_is_refused_like_an_unknown_command_and_checks_its_dates(
    services: Services,
) -> None:
    await seed(services)
    async with running_bot(services, user_id=CUSTOMER) as customer:
        await customer.send("/frobnicate")
        unknown = customer.text
        await customer.send("/export")
        assert customer.text == unknown and customer.calls("sendDocument") == []
    async with running_bot(services, user_id=ADMIN) as admin:
        await admin.send("/export last month")
        assert admin.text.startswith("Send /export, or /export YYYY-MM-DD YYYY-MM-DD")
        assert admin.calls("sendDocument") == []
