"""Reminders follow the booking; opt-out is respected; buttons act only on the tapping user's
own booking; a business admin cannot broadcast to another business's customers."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from telegram import Update
from telegram.ext import Application

from bot.app import build_application
from bot.delivery.broadcasts import start_broadcast
from bot.delivery.preferences import set_preference
from bot.delivery.reminders import cancel_for_booking, reschedule_for_booking, schedule_for_booking
from bot.services import Services
from storage.delivery_models import Broadcast, Delivery
from storage.models import Admin, Booking, User
from tests.delivery.conftest import NOW, Db, booking_row
from tests.delivery.test_dispatcher import dispatch
from tests.fakes.bot_api import TOKEN, FakeBotApi

_ids = itertools.count(1)


async def reminders_of(db: Db, booking_id: int) -> list[tuple[str, int | None, Any]]:
    async with db.sessions() as s:
        rows = await s.scalars(
            select(Delivery).where(Delivery.booking_id == booking_id).order_by(Delivery.id)
        )
        return [(r.status, r.offset_minutes, r.due_at) for r in rows]


@pytest.fixture
async def salon(services: Services, sqlite_db: Db) -> tuple[Services, Db, int]:
    return services, sqlite_db, services.business_ids["sample-salon"]


async def add_booking(
    db: Db, services: Services, business_id: int, user_id: int, start: Any, now: Any = NOW
) -> int:
    async with db.sessions() as s, s.begin():
        if await s.get(User, user_id) is None:
            s.add(User(id=user_id, first_name="u"))
            await s.flush()
        booking = booking_row(user_id, business_id, start)
        s.add(booking)
        await s.flush()
        await schedule_for_booking(s, booking, services.config.businesses[0], now)
        return booking.id


async def test_reminders_are_created_moved_and_removed_with_the_booking(salon: Any) -> None:
    services, db, business_id = salon
    business = services.config.businesses[0]  # offsets 24 h and 2 h
    start = NOW + timedelta(days=2)
    booking_id = await add_booking(db, services, business_id, 10, start)
    assert [(s, o, d) for s, o, d in await reminders_of(db, booking_id)] == [
        ("pending", 1440, start - timedelta(hours=24)),
        ("pending", 120, start - timedelta(hours=2)),
    ]
    # moved to tomorrow 10:00 (in 25 h): both offsets still ahead; old ones withdrawn
    async with db.sessions() as s, s.begin():
        booking = await s.get(Booking, booking_id)
        assert booking is not None
        booking.start_at = NOW + timedelta(hours=5)
        await reschedule_for_booking(s, booking, business, NOW)
    rows = await reminders_of(db, booking_id)
    assert [r[0] for r in rows[:2]] == ["cancelled", "cancelled"]
    # the 24 h offset is already past for an appointment in 5 h: skipped
    assert rows[2:] == [("pending", 120, NOW + timedelta(hours=3))]
    async with db.sessions() as s, s.begin():
        await cancel_for_booking(s, booking_id)
    assert all(r[0] == "cancelled" for r in await reminders_of(db, booking_id))


async def test_opted_out_customer_gets_no_reminder(salon: Any) -> None:
    services, db, business_id = salon
    now = services.clock()
    booking_id = await add_booking(db, services, business_id, 20, now + timedelta(hours=3), now)
    other_id = await add_booking(db, services, business_id, 21, now + timedelta(hours=3), now)
    async with db.sessions() as s, s.begin():
        await set_preference(s, 20, business_id, reminders=False)
        # make the 2 h reminders due now
        for row in await s.scalars(select(Delivery)):
            row.next_attempt_at = now - timedelta(seconds=1)
    with FakeBotApi(limit=100) as api:
        await dispatch(db, api)
    assert 20 not in api.state.delivered_chats()
    assert 21 in api.state.delivered_chats()
    assert [r[0] for r in await reminders_of(db, booking_id)] == ["skipped"]
    assert [r[0] for r in await reminders_of(db, other_id)] == ["sent"]
    text = next(t for chat, t in api.state.deliveries if chat == 21)
    assert "Haircut" in text and "Salon Belle Rue" in text


@pytest.fixture
async def app(services: Services) -> AsyncIterator[tuple[Application, FakeBotApi]]:  # type: ignore[type-arg]
    # replies to an admin's own taps are not paced per chat here (Telegram tolerates short bursts)
    with FakeBotApi(limit=1000, per_chat_interval=0.0) as api:
        application = build_application(
            services,
            token=TOKEN,
            base_url=api.base_url.removesuffix("/bot"),
            rate_limit=False,
            jobs=False,
        )
        async with application:
            yield application, api


def tap(
    application: Application,  # type: ignore[type-arg]
    user_id: int,
    data: str,
    message_id: int = 5,
    keyboard: list[str] | None = None,
) -> Update:
    """A tap on ``data``; ``keyboard`` is the callback data of the tapped message's buttons,
    which Telegram repeats in the query."""
    markup = {"inline_keyboard": [[{"text": d, "callback_data": d}] for d in keyboard or []]}
    return Update.de_json(
        {
            "update_id": next(_ids),
            "callback_query": {
                "id": str(next(_ids)),
                "from": {"id": user_id, "is_bot": False, "first_name": "x"},
                "chat_instance": "ci",
                "data": data,
                "message": {
                    "message_id": message_id,
                    "date": 0,
                    "chat": {"id": user_id, "type": "private"},
                    "text": "reminder",
                    **({"reply_markup": markup} if keyboard else {}),
                },
            },
        },
        application.bot,
    )


def say(application: Application, user_id: int, text: str) -> Update:  # type: ignore[type-arg]
    entities = (
        [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if text.startswith("/")
        else []
    )
    return Update.de_json(
        {
            "update_id": next(_ids),
            "message": {
                "message_id": next(_ids),
                "date": 0,
                "chat": {"id": user_id, "type": "private"},
                "from": {"id": user_id, "is_bot": False, "first_name": "x"},
                "text": text,
                "entities": entities,
            },
        },
        application.bot,
    )


def alerts(api: FakeBotApi) -> list[str]:
    return [str(p.get("text", "")) for m, p in api.state.calls if m == "answerCallbackQuery"]


async def test_reminder_buttons_only_act_on_the_tapping_users_own_booking(
    salon: Any, app: Any
) -> None:
    services, db, business_id = salon
    application, api = app
    booking_id = await add_booking(
        db, services, business_id, 30, services.clock() + timedelta(days=2), services.clock()
    )
    async with db.sessions() as s, s.begin():
        for row in await s.scalars(select(Delivery).where(Delivery.booking_id == booking_id)):
            row.telegram_message_id = 5
    # someone else taps "I'll be there" and "Yes, cancel it" with the victim's booking id
    await application.process_update(tap(application, 31, f"dr:y:{booking_id}"))
    await application.process_update(tap(application, 31, f"dr:C:{booking_id}"))
    assert alerts(api) == ["This button is not for you.", "This button is not for you."]
    async with db.sessions() as s:
        booking = await s.get(Booking, booking_id)
        assert booking is not None and booking.status == "confirmed"
        answers = set(
            await s.scalars(select(Delivery.answer).where(Delivery.booking_id == booking_id))
        )
        assert answers == {None}
    # the owner confirms, then cancels through the platform
    await application.process_update(tap(application, 30, f"dr:y:{booking_id}"))
    async with db.sessions() as s:
        answers = set(
            await s.scalars(select(Delivery.answer).where(Delivery.booking_id == booking_id))
        )
        assert answers == {"confirmed"}
    await application.process_update(tap(application, 30, f"dr:C:{booking_id}"))
    async with db.sessions() as s:
        booking = await s.get(Booking, booking_id)
        assert booking is not None
        statuses = set(
            await s.scalars(select(Delivery.status).where(Delivery.booking_id == booking_id))
        )
    # the booking was not made through the local platform, so the platform says NotFound and
    # we mirror the cancellation; either way the reminders are withdrawn
    assert booking.status == "cancelled" and statuses == {"cancelled"}


async def test_settings_button_toggles_only_the_tapping_users_switch(salon: Any, app: Any) -> None:
    _, db, business_id = salon
    application, _ = app
    await application.process_update(say(application, 40, "/settings"))
    legacy = [f"ds:r:{business_id}", f"ds:n:{business_id}"]  # a settings message of old
    await application.process_update(tap(application, 40, legacy[0], keyboard=legacy))
    from bot.delivery.preferences import get_preference

    async with db.sessions() as s:
        # reminders on and news off (news needs a yes) for who never chose
        assert await get_preference(s, 40, business_id) == (False, False)
        assert await get_preference(s, 41, business_id) == (True, False)


def sent_texts(api: FakeBotApi) -> list[str]:
    return [
        str(p.get("text", ""))
        for m, p in api.state.calls
        if m in ("sendMessage", "editMessageText")
    ]


def button(api: FakeBotApi, label: str) -> str:
    """The callback data of the newest button labelled ``label`` (an engine token)."""
    for method, params in reversed(api.state.calls):
        markup = params.get("reply_markup")
        if method in ("sendMessage", "editMessageText") and isinstance(markup, dict):
            for row in markup.get("inline_keyboard", []):
                for b in row:
                    if b["text"] == label:
                        return str(b["callback_data"])
    raise AssertionError(f"no button {label!r}")


async def test_settings_switches_are_engine_buttons_and_old_ones_still_work(
    salon: Any, app: Any
) -> None:
    _, db, business_id = salon
    application, api = app
    await application.process_update(say(application, 42, "/settings"))
    assert sent_texts(api)[-1] == "Your notification settings. Tap to turn on or off."
    news = button(api, "News from Salon Belle Rue: off")  # off until the customer says yes
    assert news.startswith("c")  # a server-side token, not the business id
    await application.process_update(tap(application, 42, news))
    assert button(api, "News from Salon Belle Rue: on")
    # a settings message sent before the switches were tokens: toggles, and is redrawn
    legacy = [f"ds:r:{business_id}", f"ds:n:{business_id}"]
    await application.process_update(tap(application, 42, legacy[1], keyboard=legacy))
    assert button(api, "News from Salon Belle Rue: off").startswith("c")
    from bot.delivery.preferences import get_preference

    async with db.sessions() as s:
        assert await get_preference(s, 42, business_id) == (True, False)


async def test_business_admin_cannot_broadcast_to_another_business(salon: Any, app: Any) -> None:
    _, db, salon_id = salon
    application, api = app
    other_id = await db.business("other-shop", "Other Shop")
    await db.customers(salon_id, range(100, 105))
    await db.customers(other_id, range(200, 210))
    async with db.sessions() as s, s.begin():
        s.add(Admin(user_id=50, business_id=salon_id, role="admin"))
        s.add(Admin(user_id=50, business_id=other_id, role="admin"))
    # an admin of both is asked which; the right is read again when the button is tapped
    await application.process_update(say(application, 50, "/broadcast"))
    assert sent_texts(api)[-1] == "Which business is this broadcast for?"
    other = button(api, "Other Shop")
    async with db.sessions() as s, s.begin():
        revoked = await s.scalar(
            select(Admin).where(Admin.user_id == 50, Admin.business_id == other_id)
        )
        await s.delete(revoked)
    await application.process_update(tap(application, 50, other))
    assert alerts(api)[-1] == "Only a business admin can do this."
    # a forged button (a token this conversation was never offered) changes nothing
    await application.process_update(tap(application, 50, "c999.0"))
    assert alerts(api)[-1] == "This menu has expired."
    # the normal flow only ever targets the admin's own business's customers
    await application.process_update(tap(application, 50, button(api, "Salon Belle Rue")))
    assert sent_texts(api)[-1] == (
        "Send me the message to broadcast to the customers of Salon Belle Rue."
    )
    await application.process_update(say(application, 50, "Closed on Monday"))
    assert sent_texts(api)[-1] == "Who should receive it?"
    await application.process_update(tap(application, 50, button(api, "All customers")))
    assert sent_texts(api)[-2:] == [
        "Closed on Monday",
        "Preview above. It will be sent to 5 customers of Salon Belle Rue.",
    ]
    send = button(api, "Send")
    # another admin (of the other business) cannot send this draft
    async with db.sessions() as s, s.begin():
        s.add(Admin(user_id=60, business_id=other_id, role="admin"))
    await application.process_update(tap(application, 60, send))
    assert alerts(api)[-1] == "This menu has expired."
    await application.process_update(tap(application, 50, send))
    async with db.sessions() as s:
        draft = await s.scalar(select(Broadcast).where(Broadcast.created_by == 50))
        assert draft is not None and draft.business_id == salon_id
        assert draft.status == "sending" and draft.text == "Closed on Monday"
        recipients = set(
            await s.scalars(select(Delivery.user_id).where(Delivery.broadcast_id == draft.id))
        )
    assert recipients == set(range(100, 105))
    assert sent_texts(api)[-1] == "0 of 5 sent, 0 failed, 0 blocked the bot"
    # a non-admin is refused outright, as if the command did not exist
    await application.process_update(say(application, 70, "/frobnicate"))
    unknown = sent_texts(api)[-1]
    await application.process_update(say(application, 70, "/broadcast"))
    assert sent_texts(api)[-1] == unknown


async def test_start_broadcast_twice_sends_once(salon: Any) -> None:
    _, db, business_id = salon
    await db.customers(business_id, range(300, 303))
    async with db.sessions() as s, s.begin():
        draft = Broadcast(
            business_id=business_id,
            created_by=1,
            admin_chat_id=1,
            text="x",
            entities=[],
            audience={"kind": "all"},
        )
        s.add(draft)
        await s.flush()
        assert await start_broadcast(s, draft, NOW) == 3
        assert await start_broadcast(s, draft, NOW) == -1
