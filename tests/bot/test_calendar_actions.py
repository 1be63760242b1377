"""A booking opened from the schedule: an admin cancels it (platform, mirror, reminders, the
customer told in their language, the other admins notified) or marks a no-show; staff only mark
no-shows on their own schedule; forged or replayed taps change nothing."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.services import Services
from providers.base import NotFound
from storage.admin_models import AuditEntry
from storage.delivery_models import Delivery
from storage.models import Admin, Booking, LocalAppointment, User
from tests.bot.harness import running_bot
from tests.bot.test_local_booking import book_haircut

ADMIN, OTHER_ADMIN, ANNA, MARC, CUSTOMER = 50, 51, 60, 61, 42


async def setup(services: Services) -> int:
    salon = services.business_ids["sample-salon"]
    async with services.sessions() as s, s.begin():
        s.add_all(
            [
                Admin(user_id=ADMIN, business_id=salon, role="admin"),
                Admin(user_id=OTHER_ADMIN, business_id=salon, role="admin", granted_by=1),
                Admin(
                    user_id=ANNA, business_id=salon, role="staff", staff_name="Anna", granted_by=1
                ),
                Admin(
                    user_id=MARC, business_id=salon, role="staff", staff_name="Marc", granted_by=1
                ),
            ]
        )
    async with running_bot(services, user_id=CUSTOMER) as chat:
        await book_haircut(chat)
        await chat.press("✅ Confirm")
        await chat.send("/language")
        await chat.press("Français")  # the customer is told in the language they chose
    return salon


async def the_booking(services: Services) -> Booking:
    async with services.sessions() as s:
        return (await s.scalars(select(Booking))).one()


async def test_an_admin_cancels_and_the_customer_is_told_in_their_language(
    services: Services,
) -> None:
    await setup(services)
    booking = await the_booking(services)
    async with running_bot(services, user_id=ADMIN) as admin:
        await admin.send("/week")
        await admin.press(admin.labels[0])
        assert admin.text.startswith("Haircut with Anna\n") and "Status: confirmed" in admin.text
        assert admin.labels == ["✖ Cancel this booking"]  # no no-show before it starts
        await admin.press("✖ Cancel this booking")
        assert admin.text == "Cancel the booking of Anna Martin? They will be told."
        confirm = admin.data_of("Yes, cancel it and tell the customer")
        await admin.tap(confirm)
        assert admin.text == "The booking of Anna Martin is cancelled; they will be told."
        await admin.tap(confirm)  # replayed: the menu moved on
    booking = await the_booking(services)
    assert booking.status == "cancelled"
    async with services.sessions() as s:
        appointment = (await s.scalars(select(LocalAppointment))).one()
        assert appointment.status == "cancelled"
        rows = list(await s.scalars(select(Delivery).order_by(Delivery.id)))
        actions = list(await s.scalars(select(AuditEntry.action)))
    told = [r for r in rows if r.kind == "notice" and r.user_id == CUSTOMER]
    assert len(told) == 1 and told[0].payload["text"].startswith(
        "Salon Belle Rue a dû annuler votre rendez-vous : Haircut"
    )
    assert {r.status for r in rows if r.kind == "reminder"} == {"cancelled"}
    cancelled = sorted(
        r.user_id for r in rows if r.kind == "business" and r.payload["change"] == "cancelled"
    )
    assert cancelled == [ADMIN, OTHER_ADMIN, ANNA]
    assert actions == ["schedule", "cancel"]


async def test_staff_mark_a_no_show_on_their_own_schedule_only(services: Services) -> None:
    await setup(services)
    booking = await the_booking(services)
    async with services.sessions() as s, s.begin():
        row = await s.get(Booking, booking.id)
        assert row is not None
        row.start_at = services.clock() - timedelta(minutes=10)  # it has started
        row.end_at = services.clock() + timedelta(minutes=20)
    async with running_bot(services, user_id=MARC) as marc:
        await marc.send("/today")
        assert "Anna Martin" not in marc.text
        await marc.tap(f"k:n:{booking.id}")  # forged: not a token
    async with running_bot(services, user_id=ANNA) as anna:
        await anna.send("/today")
        await anna.press(anna.labels[0])
        assert anna.labels == ["🚫 No-show"]  # staff cannot cancel
        await anna.press("🚫 No-show")
        assert anna.text == "Anna Martin is marked as a no-show."
    assert (await the_booking(services)).status == "no_show"


async def test_someone_without_the_role_cannot_use_an_opened_booking(services: Services) -> None:
    await setup(services)
    async with running_bot(services, user_id=ADMIN) as admin:
        await admin.send("/week")
        await admin.press(admin.labels[0])
        cancel = admin.data_of("✖ Cancel this booking")
        async with services.sessions() as s, s.begin():
            for row in await s.scalars(select(Admin).where(Admin.user_id == ADMIN)):
                await s.delete(row)
        await admin.tap(cancel)
        alerts = [c.params.get("text") for c in admin.calls("answerCallbackQuery")]
        assert alerts[-1] == "This menu has expired."
    assert (await the_booking(services)).status == "confirmed"
    async with running_bot(services, user_id=CUSTOMER) as customer:  # a customer, forged
        await customer.tap(f"k:X:{(await the_booking(services)).id}")
    assert (await the_booking(services)).status == "confirmed"
    async with services.sessions() as s:
        assert (await s.get(User, CUSTOMER)) is not None


async def test_an_admin_moves_a_booking_and_everyone_is_told(services: Services) -> None:
    await setup(services)
    booking = await the_booking(services)
    day = booking.start_at.astimezone(ZoneInfo("Europe/Paris")).date()
    later = day + timedelta(days=1)
    async with running_bot(services, user_id=ANNA) as anna:
        await anna.send("/frobnicate")
        unknown = anna.text
        await anna.send(f"/move {booking.id} {later} 11:00")  # staff may not
        assert anna.text == unknown
    async with running_bot(services, user_id=ADMIN) as admin:
        await admin.send("/week")
        await admin.press(admin.labels[0])
        assert f"To move it: /move {booking.id} YYYY-MM-DD HH:MM" in admin.text
        await admin.send(f"/move {booking.id} {later} 03:00")  # closed at night
        assert admin.text.startswith("That time is not free")
        await admin.send(f"/move 999999 {later} 11:00")
        assert admin.text.startswith("Send /move <number>")
        await admin.send(f"/move {booking.id} {later} 11:00")
        assert admin.text.startswith("The booking of Anna Martin is moved to ")
    moved = await the_booking(services)
    local = moved.start_at.astimezone(ZoneInfo("Europe/Paris"))
    assert (local.date(), local.hour, local.minute) == (later, 11, 0)
    async with services.sessions() as s:
        appointment = (await s.scalars(select(LocalAppointment))).one()
        rows = list(await s.scalars(select(Delivery).order_by(Delivery.id)))
    assert appointment.start_at == moved.start_at
    told = [r for r in rows if r.kind == "notice" and r.user_id == CUSTOMER]
    assert len(told) == 1
    assert told[0].payload["text"].startswith("Salon Belle Rue a déplacé votre rendez-vous : ")
    assert sorted(
        r.user_id for r in rows if r.kind == "business" and r.payload["change"] == "moved"
    ) == [ADMIN, OTHER_ADMIN, ANNA]
    open_reminders = [r for r in rows if r.kind == "reminder" and r.status == "pending"]
    assert open_reminders and all(r.due_at < moved.start_at for r in open_reminders)


async def test_a_not_found_the_platform_does_not_show_gone_keeps_the_booking(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The business's cancel follows the customer's rule: "not found" is not "cancelled"."""
    await setup(services)
    provider = services.providers["sample-salon"]

    async def not_found(*_: object, **__: object) -> None:
        raise NotFound("cancel answered 404")

    async def still_there(*_: object, **__: object) -> bool:
        return True

    monkeypatch.setattr(provider, "cancel", not_found)
    monkeypatch.setattr(provider, "still_booked", still_there)
    async with running_bot(services, user_id=ADMIN) as admin:
        await admin.send("/week")
        await admin.press(admin.labels[0])
        await admin.press("✖ Cancel this booking")
        await admin.press("Yes, cancel it and tell the customer")
        assert admin.text == (
            "The booking system did not confirm the cancellation, so the booking is kept. "
            "Please check it on the booking system."
        )
    assert (await the_booking(services)).status == "confirmed"
