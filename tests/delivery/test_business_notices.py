"""A booking made, moved or cancelled by a customer is told to the business: one outbox row per
admin and for the staff member concerned, written with the booking, rendered in the recipient's
language at send time, with Call / Message / Mute buttons whose data is checked on the server."""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.delivery.notices import render_notices
from bot.delivery.outbox import Claimed, Result, claim_due
from bot.services import Services
from storage.admin_models import AuditEntry, NoticeMute
from storage.delivery_models import Delivery
from storage.models import Admin, Business, User
from tests.bot.harness import ChatDriver, running_bot
from tests.bot.test_local_booking import book_haircut
from tests.delivery.conftest import Db
from tests.delivery.test_crash import start_dispatcher
from tests.fakes.bot_api import FakeBotApi

ADMIN, ANNA, MARC, FRENCH_ADMIN, CUSTOMER, OTHER_ADMIN = 50, 60, 61, 51, 42, 80


@pytest.fixture
async def team(services: Services) -> dict[str, int]:
    salon = services.business_ids["sample-salon"]
    async with services.sessions() as s, s.begin():
        other = Business(slug="barber", name="Barber", provider_kind="local", timezone="UTC")
        s.add(other)
        await s.flush()
        s.add_all(
            [
                User(id=FRENCH_ADMIN, first_name="F", language="fr"),
                Admin(user_id=ADMIN, business_id=salon, role="admin"),
                Admin(user_id=FRENCH_ADMIN, business_id=salon, role="admin", granted_by=1),
                Admin(
                    user_id=ANNA, business_id=salon, role="staff", staff_name="Anna", granted_by=1
                ),
                Admin(
                    user_id=MARC, business_id=salon, role="staff", staff_name="Marc", granted_by=1
                ),
                Admin(user_id=OTHER_ADMIN, business_id=other.id, role="admin", granted_by=1),
            ]
        )
    return {"salon": salon, "barber": other.id}


async def notice_rows(services: Services) -> list[Delivery]:
    async with services.sessions() as s:
        return list(
            await s.scalars(
                select(Delivery).where(Delivery.kind == "business").order_by(Delivery.id)
            )
        )


async def rendered(services: Services) -> tuple[dict[int, Any], list[Result]]:
    """The notice rows rendered as the dispatcher would: (text, keyboard) by recipient, and
    the rows settled without a message."""
    async with services.sessions() as s:
        rows = [
            Claimed(
                d.id,
                d.kind,
                d.priority,
                d.business_id,
                d.user_id,
                d.chat_id,
                d.booking_id,
                d.broadcast_id,
                d.payload,
                d.attempts,
            )
            for d in await notice_rows(services)
        ]
        items = await render_notices(s, rows)
    messages = {i[0].user_id: (i[1], i[2]) for i in items if isinstance(i, tuple)}
    return messages, [i for i in items if isinstance(i, Result)]


async def customer_books(services: Services) -> ChatDriver:
    async with running_bot(services, user_id=CUSTOMER) as chat:
        await book_haircut(chat)
        await chat.press("✅ Confirm")
        assert "Booked!" in chat.text
        return chat


async def test_a_booking_is_told_to_the_admins_and_its_staff_member_once(
    services: Services, team: dict[str, int]
) -> None:
    await customer_books(services)
    rows = await notice_rows(services)
    assert sorted(r.user_id for r in rows) == [ADMIN, FRENCH_ADMIN, ANNA]  # not Marc, not Barber's
    assert {r.payload["change"] for r in rows} == {"confirmed"}
    out, settled = await rendered(services)
    assert settled == []
    english, keyboard = out[ADMIN]
    assert english.startswith("New booking at Salon Belle Rue\nHaircut with Anna, ")
    assert english.endswith("Customer: Anna Martin, phone +33612345678")
    buttons = [b for row in keyboard.inline_keyboard for b in row]
    booking_id = rows[0].booking_id
    assert [(b.text, b.callback_data, b.url) for b in buttons] == [
        ("📞 Call", f"dn:call:{booking_id}", None),
        ("💬 Message", None, f"tg://user?id={CUSTOMER}"),
        ("Mute new-booking notices", f"dn:mute:confirmed:{team['salon']}", None),
    ]
    french, _ = out[FRENCH_ADMIN]
    assert french.startswith("Nouvelle réservation chez Salon Belle Rue")


async def test_a_cancellation_by_the_customer_is_told_too(
    services: Services, team: dict[str, int]
) -> None:
    await customer_books(services)
    async with running_bot(services, user_id=CUSTOMER) as chat:
        await chat.send("/mybookings")
        await chat.press(lambda_label(chat, "✖ Cancel"))
        await chat.press("Yes, cancel it")
    rows = await notice_rows(services)
    cancelled = [r.user_id for r in rows if r.payload["change"] == "cancelled"]
    assert sorted(cancelled) == [ADMIN, FRENCH_ADMIN, ANNA]


def lambda_label(chat: ChatDriver, prefix: str) -> str:
    return next(label for label in chat.labels if label.startswith(prefix))


async def test_mute_stops_that_kind_for_that_admin_and_forged_taps_change_nothing(
    services: Services, team: dict[str, int]
) -> None:
    await customer_books(services)
    [booking_id] = {r.booking_id for r in await notice_rows(services)}
    salon = team["salon"]
    # forged or foreign taps: a customer, the admin of another business, staff of another
    # staff member's booking, a kind that does not exist, a booking that does not exist
    for who, data in [
        (CUSTOMER, f"dn:mute:confirmed:{salon}"),
        (CUSTOMER, f"dn:call:{booking_id}"),
        (OTHER_ADMIN, f"dn:mute:confirmed:{salon}"),
        (OTHER_ADMIN, f"dn:call:{booking_id}"),
        (MARC, f"dn:call:{booking_id}"),
        (ADMIN, f"dn:mute:everything:{salon}"),
        (ADMIN, "dn:call:999999"),
        (ADMIN, "dn:call:1:2"),
    ]:
        async with running_bot(services, user_id=who) as chat:
            await chat.tap(data)
            assert chat.api.sent() == [], (who, data)
            alerts = [c.params.get("text") for c in chat.calls("answerCallbackQuery")]
            assert alerts == ["This menu has expired."], (who, data)
    async with services.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(NoticeMute)) == 0
        assert await s.scalar(select(func.count()).select_from(AuditEntry)) == 0
    # the right people
    async with running_bot(services, user_id=ANNA) as anna:
        await anna.tap(f"dn:call:{booking_id}")
        assert anna.text == "Call Anna Martin: +33612345678"
    async with running_bot(services, user_id=ADMIN) as admin:
        await admin.tap(f"dn:mute:confirmed:{salon}")
        await admin.tap(f"dn:mute:confirmed:{salon}")  # replayed: still one mute
    async with services.sessions() as s:
        mutes = [(m.user_id, m.business_id, m.kind) for m in await s.scalars(select(NoticeMute))]
        assert mutes == [(ADMIN, salon, "confirmed")]
        actions = list(await s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        assert actions == ["call", "mute"]
    out, settled = await rendered(services)
    assert ADMIN not in out and FRENCH_ADMIN in out
    assert [(r.status, r.error) for r in settled] == [("skipped", "notices of this kind muted")]


async def test_the_notice_reaches_the_admin_exactly_once_across_a_kill_9(
    services: Services, team: dict[str, int], database_url: str
) -> None:
    """A dispatcher claims the notices and dies before sending (its lease runs out); another
    sends them; it is killed with SIGKILL after sending; a third finds nothing left to send."""
    await customer_books(services)
    async with services.sessions() as s, s.begin():
        dead = await claim_due(
            s, owner="dead", now=services.clock(), lease=timedelta(seconds=1), limit=100
        )
    assert len(dead) == 3
    db = Db(database_url, services.engine, services.sessions)
    with FakeBotApi(limit=1000) as api:
        first = start_dispatcher(api, db)
        deadline = time.monotonic() + 60
        while len(api.state.delivered_chats() & {ADMIN, FRENCH_ADMIN, ANNA}) < 3:
            assert first.poll() is None, first.stderr.read() if first.stderr else b""
            assert time.monotonic() < deadline, "the notices were never sent"
            await asyncio.sleep(0.05)
        # the results are written back within the writer's flush interval
        while await _open(services):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        second = start_dispatcher(api, db, "--until-idle")
        assert second.wait(timeout=60) == 0
        notices = {
            chat: n for (chat, text), n in api.state.deliveries.items() if "Salon Belle Rue" in text
        }
    assert notices == {ADMIN: 1, FRENCH_ADMIN: 1, ANNA: 1}


async def _open(services: Services) -> int:
    async with services.sessions() as s:
        return int(
            await s.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.kind == "business", Delivery.status.in_(("pending", "sending")))
            )
            or 0
        )


async def test_a_booking_moved_by_the_customer_is_told_as_moved(
    services: Services, team: dict[str, int]
) -> None:
    await customer_books(services)
    [booking_id] = {r.booking_id for r in await notice_rows(services)}
    async with running_bot(services, user_id=CUSTOMER) as chat:
        await chat.tap(f"dr:r:{booking_id}", message_id=900)
        assert chat.text.startswith("Pick the new day for your appointment.")
        days = [data for text, data in chat.api.last_buttons() if text.isdigit()]
        await chat.tap(days[3])
        await chat.press_first_time()
        await chat.press("✅ Confirm")
        assert chat.text.startswith("✅ Your new time is confirmed.")
    moved = [r for r in await notice_rows(services) if r.payload["change"] == "moved"]
    assert sorted(r.user_id for r in moved) == [ADMIN, FRENCH_ADMIN, ANNA]
    out, _ = await rendered(services)
    assert any(text.startswith("Booking moved at Salon Belle Rue") for text, _ in out.values())


async def test_notices_turns_each_kind_on_and_off_again(
    services: Services, team: dict[str, int]
) -> None:
    salon = team["salon"]
    async with running_bot(services, user_id=ADMIN) as admin:
        await admin.tap(f"dn:mute:moved:{salon}")
        await admin.send("/notices")
        assert admin.text == "Booking notices you get. Tap to turn on or off."
        assert admin.labels == [
            "Salon Belle Rue: new bookings — on",
            "Salon Belle Rue: moved bookings — off",
            "Salon Belle Rue: cancellations — on",
        ]
        await admin.press("Salon Belle Rue: moved bookings — off")
        await admin.press("Salon Belle Rue: cancellations — on")
        assert admin.labels[1:] == [
            "Salon Belle Rue: moved bookings — on",
            "Salon Belle Rue: cancellations — off",
        ]
    async with services.sessions() as s:
        mutes = [(m.user_id, m.kind) for m in await s.scalars(select(NoticeMute))]
    assert mutes == [(ADMIN, "cancelled")]
    async with running_bot(services, user_id=CUSTOMER) as customer:
        await customer.send("/frobnicate")
        unknown = customer.text
        await customer.send("/notices")
        assert customer.text == unknown
        await customer.tap(f"n:{salon}:confirmed")  # forged: not a token
    async with running_bot(services, user_id=OTHER_ADMIN) as other:
        await other.send("/notices")
        assert [label.split(":")[0] for label in other.labels] == ["Barber"] * 3
