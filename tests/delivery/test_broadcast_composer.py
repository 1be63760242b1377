"""The broadcast composer runs on the conversation engine: its buttons are the engine's tokens,
its draft is in the conversation state, and every step checks the admin's right again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from telegram import Update

from bot.services import Services
from storage.delivery_models import Broadcast, Delivery
from storage.models import Admin
from tests.bot.harness import ChatDriver, running_bot
from tests.delivery.conftest import NOW, Db

ADMIN = 50


@pytest.fixture
async def admin(services: Services, sqlite_db: Db) -> AsyncIterator[ChatDriver]:
    salon_id = services.business_ids["sample-salon"]
    await sqlite_db.customers(salon_id, range(100, 103))
    async with sqlite_db.sessions() as s, s.begin():
        s.add(Admin(user_id=ADMIN, business_id=salon_id, role="admin"))
    async with running_bot(services, user_id=ADMIN) as chat:
        yield chat


def alerts(chat: ChatDriver) -> list[str]:
    return [str(c.params.get("text", "")) for c in chat.calls("answerCallbackQuery")]


async def broadcasts_of(services: Services) -> list[Broadcast]:
    async with services.sessions() as session:
        return list(await session.scalars(select(Broadcast).order_by(Broadcast.id)))


async def compose(chat: ChatDriver, text: str = "Closed on Monday") -> None:
    """From /broadcast to the preview, for all customers."""
    await chat.send("/broadcast")
    assert chat.text == "Send me the message to broadcast to the customers of Salon Belle Rue."
    await chat.send(text)
    assert chat.text == "Who should receive it?"
    await chat.press("All customers")


async def test_a_double_tap_on_send_starts_one_broadcast(
    admin: ChatDriver, services: Services
) -> None:
    await compose(admin)
    assert admin.text == "Preview above. It will be sent to 3 customers of Salon Belle Rue."
    send = admin.data_of("Send")
    await admin.tap(send)
    await admin.tap(send)
    assert alerts(admin)[-1] == "This broadcast can no longer be changed."
    [sent] = await broadcasts_of(services)
    assert sent.status == "sending" and sent.total == 3
    async with services.sessions() as session:
        deliveries = list(
            await session.scalars(select(Delivery).where(Delivery.broadcast_id == sent.id))
        )
    assert sorted(d.user_id for d in deliveries) == [100, 101, 102]


async def test_the_message_keeps_its_formatting_in_the_preview_and_the_broadcast(
    admin: ChatDriver, services: Services
) -> None:
    bold = [{"type": "bold", "offset": 0, "length": 6}]
    await admin.send("/broadcast")
    update = Update.de_json(
        {
            "update_id": 10_000,
            "message": {
                "message_id": 10_000,
                "date": 0,
                "chat": {"id": ADMIN, "type": "private"},
                "from": {"id": ADMIN, "is_bot": False, "first_name": "A"},
                "text": "Closed on Monday",
                "entities": bold,
            },
        },
        admin.application.bot,
    )
    await admin.application.process_update(update)
    await admin.press("All customers")
    preview = next(c for c in admin.calls("sendMessage") if c.params["text"] == "Closed on Monday")
    assert preview.params["entities"] == bold
    await admin.press("Send")
    [sent] = await broadcasts_of(services)
    assert sent.entities == bold


async def test_a_date_range_audience_is_asked_for_and_checked(
    services: Services, sqlite_db: Db
) -> None:
    salon_id = services.business_ids["sample-salon"]
    await sqlite_db.customers(salon_id, [300], via="booking")  # booked for NOW + 3 days
    await sqlite_db.customers(salon_id, [301])  # a fiche, no booking
    async with sqlite_db.sessions() as s, s.begin():
        s.add(Admin(user_id=ADMIN, business_id=salon_id, role="admin"))
    async with running_bot(services, user_id=ADMIN) as chat:
        await chat.send("/broadcast")
        await chat.send("Your appointment moves")
        await chat.press("Customers with a booking in a date range")
        assert chat.text == "Send the date range as two dates: YYYY-MM-DD YYYY-MM-DD"
        await chat.send("next week")
        assert chat.text == "I could not read that range. Example: 2026-12-01 2026-12-31"
        day = (NOW + timedelta(days=3)).date()
        await chat.send(f"{day + timedelta(days=1)} {day}")  # either order
        # one customer: the singular (ngettext), not "1 customers"
        assert chat.text == "Preview above. It will be sent to 1 customer of Salon Belle Rue."
        await chat.press("Send")
    [sent] = await broadcasts_of(services)
    last = day + timedelta(days=1)
    assert sent.audience == {"kind": "range", "from": day.isoformat(), "to": last.isoformat()}


async def test_discard_and_broadcast_cancel_drop_the_draft(
    admin: ChatDriver, services: Services
) -> None:
    await compose(admin)
    await admin.press("Discard")
    assert admin.text == "Broadcast discarded."
    # the next text is the engine's again, not a broadcast's
    await admin.send("Closed on Monday")
    assert admin.text.startswith("Send /book to make an appointment")
    await admin.send("/broadcast")
    await admin.send("/broadcast_cancel")
    assert admin.text == "Broadcast discarded."
    await admin.send("/broadcast_cancel")
    assert admin.text == "You have no broadcast in progress."
    assert await broadcasts_of(services) == []


async def test_an_admin_who_lost_the_right_cannot_go_on(
    admin: ChatDriver, services: Services
) -> None:
    await admin.send("/broadcast")
    async with services.sessions() as s, s.begin():
        for row in await s.scalars(select(Admin).where(Admin.user_id == ADMIN)):
            await s.delete(row)
    await admin.send("Closed on Monday")
    assert admin.text == "Only a business admin can do this."
    await admin.send("Closed on Monday")  # the draft is gone
    assert admin.text.startswith("Send /book to make an appointment")


async def test_buttons_of_drafts_from_before_the_move_say_the_menu_expired(
    admin: ChatDriver, services: Services
) -> None:
    """Drafts used to be rows with ``db:<action>:<id>`` buttons; such a button still in a chat
    is answered like any stale menu, and changes nothing."""
    for data in ("db:b:1", "db:a:1", "db:s:1", "db:x:1"):
        await admin.tap(data)
        assert alerts(admin)[-1] == "This menu has expired."
    assert not admin.calls("sendMessage") and not admin.calls("editMessageText")
    assert await broadcasts_of(services) == []


async def test_composing_a_broadcast_keeps_the_booking_in_progress(admin: ChatDriver) -> None:
    await admin.send("/book")
    await admin.press("Haircut · 30 min · €25.00")
    await compose(admin)
    await admin.press("Discard")
    await admin.send("/start")
    assert admin.text.startswith("Welcome back! Here is where you were.")
    assert "Who would you like to see?" in admin.text
