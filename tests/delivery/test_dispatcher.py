"""The dispatcher against the fake Bot API: every message once, limits and 429s honoured."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from telegram import MessageEntity

from bot.delivery.broadcasts import start_broadcast
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.outbox import Claimed, claim_due, enqueue_notice
from bot.delivery.render import Outgoing, reminder_keyboard
from storage.delivery_models import BlockedChat, Broadcast, Delivery
from tests.delivery.conftest import Db, make_bot
from tests.fakes.bot_api import FakeBotApi


def now() -> datetime:
    return datetime.now(UTC)


async def new_broadcast(
    db: Db, business_id: int, text: str = "Closed on Monday", **extra: object
) -> int:
    async with db.sessions() as s, s.begin():
        b = Broadcast(
            business_id=business_id,
            created_by=1,
            admin_chat_id=1,
            text=text,
            entities=[{"type": "bold", "offset": 0, "length": 6}],
            audience={"kind": "all"},
            **extra,
        )
        s.add(b)
        await s.flush()
        assert await start_broadcast(s, b, now()) >= 0
        return b.id


async def statuses(db: Db) -> dict[str, int]:
    async with db.sessions() as s:
        rows = await s.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
        return {k: int(v) for k, v in rows.all()}


async def dispatch(db: Db, api: FakeBotApi, rate: float = 30.0, **kwargs: object) -> Dispatcher:
    bot = make_bot(api, rate=rate)
    async with bot:
        dispatcher = Dispatcher(
            db.sessions, bot, poll_interval=0.05, progress_interval=0.2, **kwargs
        )  # type: ignore[arg-type]
        await dispatcher.run(until_idle=True)
    return dispatcher


async def test_broadcast_reaches_every_customer_exactly_once_and_reports(sqlite_db: Db) -> None:
    salon = await sqlite_db.business("salon")
    await sqlite_db.customers(salon, range(1000, 1300))
    bid = await new_broadcast(sqlite_db, salon)
    with FakeBotApi(limit=200) as api:
        await dispatch(sqlite_db, api, rate=200)
        chats = api.state.delivered_chats()
    assert set(range(1000, 1300)) <= chats
    assert api.state.duplicates == 0
    # The limiter counts each message in its window until a second after its answer, and the
    # fake stamps it before answering: however loaded the machine, no window of the fake's
    # holds more than the limit.
    assert api.state.rejected_429 == 0
    async with sqlite_db.sessions() as s:
        broadcast = await s.get(Broadcast, bid)
        assert broadcast is not None and broadcast.status == "done" and broadcast.total == 300
        message_ids = await s.scalars(
            select(Delivery.telegram_message_id).where(Delivery.broadcast_id == bid)
        )
        assert all(m is not None for m in message_ids)
    # the final report went to the admin's chat through the outbox
    assert any(chat == 1 and "300 of 300 sent" in text for chat, text in api.state.deliveries)


async def test_retry_after_pauses_every_sender_and_loses_nothing(sqlite_db: Db) -> None:
    salon = await sqlite_db.business("salon")
    await sqlite_db.customers(salon, range(1, 61))
    await new_broadcast(sqlite_db, salon)
    with FakeBotApi(limit=1000) as api:
        api.state.force_429(3, retry_after=2)
        started = time.monotonic()
        dispatcher = await dispatch(sqlite_db, api, rate=100)
        elapsed = time.monotonic() - started
    assert set(range(1, 61)) <= api.state.delivered_chats()
    assert api.state.duplicates == 0
    # the 3 forced ones, plus any a loaded machine's jitter provokes: all retried
    assert dispatcher.stats.retry_after >= 3
    assert api.state.pause_violations == 0
    assert elapsed >= 2.0
    first_429 = next(e.at for e in api.state.events if e.status == 429)
    accepted = [e.at for e in api.state.events if e.status == 200]
    # nothing accepted during the pause (beyond requests already in flight)
    assert not [t for t in accepted if first_429 + 0.15 < t < first_429 + 2.0]


async def test_global_rate_is_respected_without_429(sqlite_db: Db) -> None:
    salon = await sqlite_db.business("salon")
    await sqlite_db.customers(salon, range(1, 91))
    await new_broadcast(sqlite_db, salon)
    with FakeBotApi(limit=30) as api:
        await dispatch(sqlite_db, api, rate=30)
    stats = api.state.stats()
    assert stats["accepted"] >= 90 and api.state.duplicates == 0
    # below the limit in every one-second window, whatever the machine's load (see above)
    assert api.state.rejected_429 == 0
    assert stats["rate"] <= 30


async def test_blocked_user_is_marked_and_skipped_next_time(sqlite_db: Db) -> None:
    salon = await sqlite_db.business("salon")
    await sqlite_db.customers(salon, range(1, 11))
    await new_broadcast(sqlite_db, salon)
    with FakeBotApi(limit=1000, blocked={3}) as api:
        await dispatch(sqlite_db, api, rate=100)
        assert api.state.forbidden == 1
        async with sqlite_db.sessions() as s:
            assert await s.get(BlockedChat, 3) is not None
        # second broadcast: user 3 is not even a recipient, and a notice to them is skipped
        await new_broadcast(sqlite_db, salon, text="New service")
        async with sqlite_db.sessions() as s, s.begin():
            enqueue_notice(s, business_id=salon, user_id=3, chat_id=3, text="moved", now=now())
        await dispatch(sqlite_db, api, rate=100)
        assert api.state.forbidden == 1
    assert (3, "New service") not in api.state.deliveries
    async with sqlite_db.sessions() as s:
        second = await s.scalars(select(Delivery.user_id).where(Delivery.broadcast_id == 2))
        assert 3 not in set(second)


async def test_bad_request_records_the_error_and_gives_up(sqlite_db: Db) -> None:
    salon = await sqlite_db.business("salon")
    async with sqlite_db.sessions() as s, s.begin():
        enqueue_notice(s, business_id=salon, user_id=5, chat_id=5, text="hello", now=now())
    with FakeBotApi(limit=100, missing={5}) as api:
        await dispatch(sqlite_db, api)
    async with sqlite_db.sessions() as s:
        row = await s.scalar(select(Delivery))
        assert row is not None and row.status == "failed"
        assert row.last_error and "chat not found" in row.last_error.lower()


async def test_network_error_is_retried_later_not_dropped(sqlite_db: Db) -> None:
    salon = await sqlite_db.business("salon")
    async with sqlite_db.sessions() as s, s.begin():
        enqueue_notice(s, business_id=salon, user_id=5, chat_id=5, text="hello", now=now())
    with FakeBotApi(limit=100) as api:
        bot = make_bot(api)
        await bot.initialize()
    # the server is gone: every send is a network error
    dispatcher = Dispatcher(sqlite_db.sessions, bot, poll_interval=0.05)
    await dispatcher.run(until_idle=True)
    await bot.shutdown()
    assert dispatcher.stats.retried == 1
    async with sqlite_db.sessions() as s:
        row = await s.scalar(select(Delivery))
        assert row is not None and row.status == "pending" and row.attempts == 1
        assert row.next_attempt_at > now() and row.last_error


async def test_reminders_and_notices_go_before_broadcasts(sqlite_db: Db) -> None:
    salon = await sqlite_db.business("salon")
    await sqlite_db.customers(salon, range(1, 41))
    await new_broadcast(sqlite_db, salon)
    async with sqlite_db.sessions() as s, s.begin():
        for chat in range(500, 505):
            enqueue_notice(
                s, business_id=salon, user_id=chat, chat_id=chat, text="urgent", now=now()
            )
    with FakeBotApi(limit=1000) as api:
        await dispatch(sqlite_db, api, rate=20, concurrency=1)
    order = [e.chat_id for e in api.state.events if e.status == 200]
    assert set(order[:5]) == set(range(500, 505))


async def test_row_claimed_by_a_dead_dispatcher_is_delivered_after_its_lease(sqlite_db: Db) -> None:
    salon = await sqlite_db.business("salon")
    async with sqlite_db.sessions() as s, s.begin():
        enqueue_notice(s, business_id=salon, user_id=7, chat_id=7, text="hi", now=now())
    async with sqlite_db.sessions() as s, s.begin():
        claimed = await claim_due(s, owner="dead", now=now(), lease=timedelta(seconds=1), limit=10)
        assert len(claimed) == 1
    with FakeBotApi(limit=100) as api:
        await dispatch(sqlite_db, api)  # lease still running: nothing due
        assert api.state.accepted == 0
        await asyncio.sleep(1.1)
        await dispatch(sqlite_db, api)
    assert api.state.deliveries[(7, "hi")] == 1
    assert (await statuses(sqlite_db)) == {"sent": 1}


async def test_lean_send_posts_what_bot_send_message_would(sqlite_db: Db) -> None:
    """The dispatcher posts sendMessage through bot.request itself (no Message object built):
    the parameters must be exactly those of Bot.send_message, keyboard and entities included."""
    salon = await sqlite_db.business("salon")
    await sqlite_db.customers(salon, [41])
    await new_broadcast(sqlite_db, salon)  # bold entity
    with FakeBotApi(limit=1000, per_chat_interval=0.0) as api:
        dispatcher = await dispatch(sqlite_db, api)
        lean = next(params for method, params in api.state.calls if method == "sendMessage")
        assert dispatcher.stats.sent >= 1
        entities = (MessageEntity("bold", 0, 6),)
        keyboard = reminder_keyboard("en", 12)
        row = Claimed(1, "reminder", 0, salon, 42, 42, 12, None, {}, 1)
        async with make_bot(api) as bot:
            dispatcher.bot = bot
            assert await dispatcher._send_message(Outgoing(row, "Reminder", (), keyboard)) > 0
            lean_keyboard = api.state.calls[-1][1]
            await bot.send_message(42, "Reminder", reply_markup=keyboard)
            reference_keyboard = api.state.calls[-1][1]
            await bot.send_message(41, "Closed on Monday", entities=list(entities))
            reference = api.state.calls[-1][1]
    assert lean == reference
    assert lean_keyboard == reference_keyboard
    assert lean_keyboard["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "dr:y:12"
    # the message id comes back from the answer, and is stored
    async with sqlite_db.sessions() as s:
        stored = await s.scalar(select(Delivery.telegram_message_id).where(Delivery.user_id == 41))
    assert stored is not None and stored > 0
