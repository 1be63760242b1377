"""/stats and /health for business admins: counts from the mirror and the outbox, the
platform's answer; refused like an unknown command for anyone else."""

from __future__ import annotations

import io
from datetime import timedelta

from matplotlib.image import imread
from sqlalchemy import func, select, update

from bot.admin.stats import per_day
from bot.services import Services
from storage.delivery_models import Delivery
from storage.models import Admin, Booking, Business, User
from tests.bot.harness import running_bot
from tests.bot.test_local_booking import book_haircut
from tests.delivery.conftest import booking_row

ADMIN, CUSTOMER, OTHER = 50, 42, 43


async def test_stats_counts_the_period_and_the_bookings_in_progress(services: Services) -> None:
    async with services.sessions() as s, s.begin():
        s.add(Admin(user_id=ADMIN, business_id=services.business_ids["sample-salon"], role="admin"))
    for user in (CUSTOMER, CUSTOMER + 10):
        async with running_bot(services, user_id=user) as chat:
            await book_haircut(chat)
            await chat.press("✅ Confirm")
    async with running_bot(services, user_id=OTHER) as other:
        await other.send("/book")
        await other.press("Haircut · 30 min · €25.00")  # stops at the staff choice
    async with services.sessions() as s, s.begin():
        first = min(await s.scalars(select(Booking.id)))
        await s.execute(update(Booking).where(Booking.id == first).values(status="no_show"))
        await s.execute(
            update(Delivery)
            .where(Delivery.kind == "business")
            .values(status="sent", sent_at=services.clock())
        )
    async with running_bot(services, user_id=ADMIN) as admin:
        await admin.send("/stats")
        header, table, booking_funnel = admin.text.split("\n\n")
        assert header.startswith("From ")
        assert booking_funnel.splitlines()[1] == "Bookings started: 3"  # more: test_funnel.py
        assert table.splitlines() == [
            "Salon Belle Rue",
            "Bookings made: 2",
            "of which cancelled: 0",
            "of which no-shows: 1",
            "Reminders sent: 0",
            "Booking notices sent: 2",
            "Bookings in progress now, by step: Staff choice 1",
        ]
        # the chart: a PNG photo of the bookings per day, read back here
        [photo] = admin.calls("sendPhoto")
        [picture] = photo.files.values()
        image = imread(io.BytesIO(picture), format="png")
        assert image.shape[:2] == (300, 800) and photo.params["caption"] == "Salon Belle Rue"
        later = services.clock().date() + timedelta(days=400)
        await admin.send(f"/stats {later} {later}")
        assert "Bookings made: 0" in admin.text
        await admin.send("/stats soon")
        assert admin.text.startswith("Send /stats, or /stats YYYY-MM-DD")

        await admin.send("/health")
        lines = admin.text.splitlines()
        assert lines[0] == "Salon Belle Rue"
        assert lines[1].startswith("Platform: answers (") and lines[1].endswith(" ms)")
        async with services.sessions() as s:
            reminders = await s.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.status == "pending")
            )
        assert reminders  # the reminders of the two bookings
        assert lines[2].startswith(f"Outbox: {reminders} waiting, the oldest for ")


async def test_health_says_when_the_platform_does_not_answer(services: Services) -> None:
    from providers.base import ProviderUnavailable

    async with services.sessions() as s, s.begin():
        s.add(Admin(user_id=ADMIN, business_id=services.business_ids["sample-salon"], role="admin"))
        s.add(
            Delivery(
                kind="notice", business_id=services.business_ids["sample-salon"], user_id=1,
                chat_id=1, payload={"text": "x"}, status="failed", due_at=services.clock(),
                next_attempt_at=services.clock(),
                last_error="POST https://api.telegram.org/bot123456:SECRET-token/sendMessage 400",
            )
        )  # fmt: skip
    provider = services.providers["sample-salon"]

    async def down(*_: object) -> object:
        raise ProviderUnavailable("down")

    provider.flow = down  # type: ignore[method-assign]
    async with running_bot(services, user_id=ADMIN) as admin:
        await admin.send("/health")
        assert admin.text.splitlines()[1:] == [
            "Platform: NOT answering (ProviderUnavailable)",
            "Outbox: empty",
            "Last delivery error: POST https://api.telegram.org/bot<token>/sendMessage 400",
        ]
    async with running_bot(services, user_id=CUSTOMER) as customer:
        await customer.send("/frobnicate")
        unknown = customer.text
        for command in ("/health", "/stats"):
            await customer.send(command)
            assert customer.text == unknown


async def test_the_chart_counts_each_day_of_the_period(services: Services) -> None:
    salon = services.business_ids["sample-salon"]
    now = services.clock()
    zone = services.business("sample-salon").zone
    async with services.sessions() as s, s.begin():
        s.add(User(id=CUSTOMER, first_name="C"))
        await s.flush()
        for days_ago, status in ((0, "confirmed"), (0, "cancelled"), (2, "confirmed")):
            row = booking_row(CUSTOMER, salon, now + timedelta(days=1), status=status)
            row.created_at = now - timedelta(days=days_ago)
            s.add(row)
    today = now.astimezone(zone).date()
    async with services.sessions() as s:
        business = await s.get(Business, salon)
        assert business is not None
        days, made, cancelled = await per_day(s, business, zone, today - timedelta(days=3), today)
    assert days == [today - timedelta(days=i) for i in (3, 2, 1, 0)]
    assert (made, cancelled) == ([0, 1, 0, 2], [0, 0, 0, 1])
