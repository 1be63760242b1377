"""The booking records (storage/bookings.py, storage/fiches.py, and the reminders the engine
schedules for them, bot/delivery/reminders.py) on the one storage path, on SQLite and
PostgreSQL: each write stores the rows meant, the reads return the same views, ownership holds,
and the engine commits a turn's writes, their reminders and its state in one transaction."""

from __future__ import annotations

import itertools
import re
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from bot.config import load_config
from bot.engine.engine import Engine
from bot.engine.state import ConversationState
from bot.engine.turn import Turn
from bot.engine.types import Event
from bot.services import Services, build_services
from providers.base import Booking as ProviderBooking
from storage import bookings, fiches
from storage.conversations import ConversationRecord, load
from storage.delivery_models import Delivery
from storage.models import Booking, Business, Fiche, User
from storage.writes import Write

NOW = datetime(2031, 5, 2, 8, 15, 30, 250, tzinfo=UTC)
START = NOW + timedelta(days=3, hours=2)
TABLES = {"users": User, "fiches": Fiche, "bookings": Booking, "deliveries": Delivery}
#: SQLite's CURRENT_TIMESTAMP, the schema's default for created_at
SERVER_NOW = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
_chats = itertools.count(1)


@pytest.fixture
async def services(empty_database_url: str) -> AsyncIterator[Services]:
    config = load_config(env={}).model_copy(update={"database_url": empty_database_url})
    built = await build_services(config, env={})
    yield built
    await built.aclose()


def _turn(services: Services, record: ConversationRecord, *writes: Write) -> Turn:
    event = Event(user_id=41, chat_id=4100, kind="command", command="book", first_name="Anna")
    state = ConversationState.from_stored(record.data)
    turn = Turn(services, event, record, state, now=NOW, language="en")
    turn.writes.extend(writes)
    return turn


async def run(services: Services, *writes: Write) -> None:
    """Writes in one turn's transaction, as the engine commits them (with the reminders they
    call for), beside a conversation of their own."""
    chat = -next(_chats)
    record = ConversationRecord(chat_id=chat, user_id=chat)
    assert await Engine(services)._store(_turn(services, record, *writes))


def confirmed(services: Services, **changes: Any) -> bookings.Confirmed:
    business = services.config.businesses[0]
    base = bookings.Confirmed(
        user_id=41,
        chat_id=4100,
        first_name="Anna",
        telegram_language="fr",
        business_id=services.business_ids[business.slug],
        result=ProviderBooking(
            ref="local-7",
            start=START,
            end=START + timedelta(minutes=30),
            service_name="Haircut",
            resource_name="Marie",
            customer_ref="cust-9",
        ),
        service_name="Haircut",
        resource_name="Marie",
        price=(Decimal("25.50"), "EUR"),
        selection={"service": ["haircut"], "staff": ["marie"]},
        idempotency_key="1:3",
        fiche_id=None,
        label="me",
        details={
            "first_name": "Anna",
            "last_name": "Martin",
            "phone": "+33612345678",
            "email": "anna@example.org",
            "birth_date": "1990-04-01",
        },
        now=NOW,
    )
    return replace(base, **changes)


async def dump(services: Services) -> dict[str, list[dict[str, Any]]]:
    """Every row of the booking tables as read back. created_at is the schema's default (the
    clock at insert), checked to be set only."""
    tables: dict[str, list[dict[str, Any]]] = {}
    async with services.engine.connect() as connection:
        for name, model in TABLES.items():
            table = model.__table__
            found = await connection.execute(select(table).order_by(*table.primary_key))
            rows = []
            for row in found.mappings():
                values = dict(row)
                assert values.pop("created_at") is not None
                rows.append(values)
            tables[name] = rows
    return tables


def sqlite_storage(services: Services, table: str, column: str) -> list[tuple[Any, str]]:
    """(value, SQLite storage class) of a column as stored, for a SQLite database; [] else.
    Rows written before this code must keep loading: the stored text is checked too."""
    if services.engine.dialect.name != "sqlite":
        return []
    path = services.config.database_url.removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as db:
        return list(db.execute(f"SELECT {column}, typeof({column}) FROM {table} ORDER BY rowid"))  # noqa: S608


async def test_booking_writes_store_the_rows_meant(services: Services) -> None:
    await run(services, bookings.record(confirmed(services)))
    # The same person again (their fiche 1): a new last name, no phone typed (kept), a
    # whole price, no staff name; then another user, then a cancel and a refused cancel.
    await run(
        services,
        bookings.record(
            confirmed(
                services,
                fiche_id=1,
                label="ignored for a stored fiche",
                details={"first_name": "Anna", "last_name": "Martin-Roy"},
                price=(Decimal("30.00"), "EUR"),
                resource_name=None,
                result=replace(
                    confirmed(services).result,
                    ref="local-8",
                    start=START + timedelta(days=1),
                    end=START + timedelta(days=1, minutes=45),
                    resource_name=None,
                    customer_ref=None,
                ),
                idempotency_key="1:9",
            )
        ),
    )
    await run(
        services,
        bookings.record(
            confirmed(
                services,
                user_id=52,
                chat_id=5200,
                first_name="Bob " * 60,  # longer than the column: cut
                telegram_language=None,
                price=None,
                details={"first_name": "Bob", "last_name": "Roy"},
                label="",
                idempotency_key="2:4",
                result=replace(confirmed(services).result, start=NOW + timedelta(hours=3)),
            )
        ),
    )
    await run(services, bookings.cancel(1, 41, NOW + timedelta(minutes=5)))
    await run(services, bookings.cancel(2, 52, NOW + timedelta(minutes=6)))  # not Bob's
    await run(services, fiches.choose_language(41, "Anna", "fr", "en"))
    await run(services, fiches.remember_user(63, "Carl", "de"))
    rows = await dump(services)
    assert [
        (r["id"], r["first_name"], r["telegram_language"], r["language"]) for r in rows["users"]
    ] == [
        (41, "Anna", "fr", "en"),
        (52, ("Bob " * 60)[:200], None, None),
        (63, "Carl", "de", None),
    ]
    assert [
        (r["user_id"], r["label"], r["last_name"], r["phone"], r["email"], r["provider_ref"])
        for r in rows["fiches"]
    ] == [
        (41, "me", "Martin-Roy", "+33612345678", "anna@example.org", "cust-9"),
        (52, "", "Roy", None, None, "cust-9"),
    ]
    assert rows["fiches"][0]["birth_date"] == datetime(1990, 4, 1).date()
    assert [
        (r["status"], r["price_amount"], r["currency"], r["resource_name"], r["fiche_id"])
        for r in rows["bookings"]
    ] == [
        ("cancelled", Decimal("25.50"), "EUR", "Marie", 1),
        ("confirmed", Decimal("30.00"), "EUR", None, 1),
        ("confirmed", None, None, "Marie", 2),
    ]
    assert rows["bookings"][0]["cancelled_at"] == NOW + timedelta(minutes=5)
    assert rows["bookings"][1]["customer_name"] == "Anna Martin-Roy"
    assert rows["bookings"][0]["selection"] == {"service": ["haircut"], "staff": ["marie"]}
    reminders = [
        (r["booking_id"], r["offset_minutes"], r["status"], r["last_error"], r["kind"])
        for r in rows["deliveries"]
    ]
    # Booking 3 starts in 3 h: only its 2 h reminder is ahead.
    assert reminders == [
        (1, 1440, "cancelled", "cancelled", "reminder"),
        (1, 120, "cancelled", "cancelled", "reminder"),
        (2, 1440, "pending", None, "reminder"),
        (2, 120, "pending", None, "reminder"),
        (3, 120, "pending", None, "reminder"),
    ]
    due = START + timedelta(days=1) - timedelta(minutes=1440)
    assert (rows["deliveries"][2]["due_at"], rows["deliveries"][2]["next_attempt_at"]) == (due, due)
    assert rows["deliveries"][2]["payload"] == {} and rows["deliveries"][2]["attempts"] == 0
    # On SQLite, the stored text rows written before this code also have.
    if services.engine.dialect.name == "sqlite":
        assert sqlite_storage(services, "fiches", "birth_date")[0] == ("1990-04-01", "text")
        assert [kind for _, kind in sqlite_storage(services, "bookings", "price_amount")] == [
            "real",
            "integer",
            "null",
        ]
        assert sqlite_storage(services, "bookings", "selection")[0] == (
            '{"service":["haircut"],"staff":["marie"]}',  # storage/jsontext.py's compact text
            "text",
        )
        assert sqlite_storage(services, "deliveries", "due_at")[2] == (
            due.replace(tzinfo=None).isoformat(" ", "microseconds"),
            "text",
        )
        created = sqlite_storage(services, "bookings", "created_at")[0]
        assert created[1] == "text" and SERVER_NOW.match(created[0]), created


async def test_reads_return_views_of_what_was_stored(services: Services) -> None:
    await run(services, bookings.record(confirmed(services)))
    await run(services, bookings.record(confirmed(services, fiche_id=1, idempotency_key="1:4")))
    await run(services, bookings.record(confirmed(services, user_id=52, idempotency_key="2:4")))
    business_id = services.business_ids["sample-salon"]
    views = await bookings.upcoming(services, 41, NOW)
    assert [(v.id, v.user_id, v.status, v.start_at, v.fiche_id) for v in views] == [
        (1, 41, "confirmed", START, 1),
        (2, 41, "confirmed", START, 1),
    ]
    assert views[0].selection == {"service": ["haircut"], "staff": ["marie"]}
    assert views[0].start_at.tzinfo is not None
    assert [v.user_id for v in await bookings.upcoming(services, 52, NOW)] == [52]
    assert await bookings.upcoming(services, 99, NOW) == []
    people = await fiches.for_user(services, 41, business_id)
    assert [(f.id, f.first_name, f.birth_date) for f in people] == [
        (1, "Anna", datetime(1990, 4, 1).date())
    ]
    assert await fiches.all_for_user(services, 41) == people
    assert await fiches.for_user(services, 41, business_id + 1) == []
    assert [f.user_id for f in await fiches.all_for_user(services, 52)] == [52]
    # Ended bookings are not upcoming.
    assert await bookings.upcoming(services, 41, START + timedelta(hours=1)) == []
    assert await bookings.owned(services, 1, 41) == views[0]
    assert await bookings.owned(services, 3, 41) is None  # user 52's
    assert await bookings.owned(services, 1, 52) is None
    assert await bookings.owned(services, 99, 41) is None


async def test_a_cancel_is_the_owners_alone_and_withdraws_the_reminders(
    services: Services,
) -> None:
    await run(services, bookings.record(confirmed(services)))
    async with services.engine.begin() as connection:
        assert await bookings.cancel_owned(connection, 1, 52, NOW) is None  # not theirs
    await run(services, bookings.cancel(1, 41, NOW))
    async with services.engine.begin() as connection:
        assert await bookings.cancel_owned(connection, 1, 41, NOW) is None  # done already
    view = await bookings.owned(services, 1, 41)
    assert view is not None and view.status == "cancelled"
    assert await bookings.upcoming(services, 41, NOW) == []
    rows = await dump(services)
    assert rows["bookings"][0]["cancelled_at"] == NOW
    assert [(r["status"], r["last_error"]) for r in rows["deliveries"]] == [
        ("cancelled", "cancelled"),
        ("cancelled", "cancelled"),
    ]


async def test_someone_elses_fiche_is_never_written(services: Services) -> None:
    await run(services, bookings.record(confirmed(services)))
    # Another user naming fiche 1, and the same user naming it for another business.
    await run(
        services,
        bookings.record(
            confirmed(
                services,
                user_id=52,
                fiche_id=1,
                details={"first_name": "Eve", "last_name": "Intruder"},
                idempotency_key="2:1",
            )
        ),
    )
    async with services.engine.begin() as connection:
        await connection.execute(
            insert(Business.__table__).values(
                id=77, slug="other", name="Other", provider_kind="local", timezone="UTC"
            )
        )
    elsewhere = confirmed(
        services,
        business_id=77,
        fiche_id=1,
        details={"first_name": "Anna", "last_name": "Elsewhere"},
        idempotency_key="1:2",
    )
    async with services.engine.begin() as connection:  # not a configured business: no reminders
        await bookings.record_confirmed(connection, elsewhere)
    rows = await dump(services)
    assert [(r["id"], r["user_id"], r["business_id"], r["last_name"]) for r in rows["fiches"]] == [
        (1, 41, 1, "Martin"),
        (2, 52, 1, "Intruder"),
        (3, 41, 77, "Elsewhere"),
    ]
    assert [r["fiche_id"] for r in rows["bookings"]] == [1, 2, 3]
    # And deleting is the owner's alone; the booking made for the fiche stays, unlinked.
    async with services.engine.begin() as connection:
        assert not await fiches.delete_owned(connection, 1, 52)
    await run(services, fiches.forget(1, 41))
    rows = await dump(services)
    assert [r["id"] for r in rows["fiches"]] == [2, 3]
    assert [r["fiche_id"] for r in rows["bookings"]] == [None, 2, 3]


async def _stored_record(services: Services) -> ConversationRecord:
    record = ConversationRecord(chat_id=4100, user_id=41, data={"lang": 1})
    assert await Engine(services)._store(_turn(services, record))
    return record


async def _state(services: Services) -> ConversationRecord:
    async with services.engine.connect() as connection:
        return await load(connection, 4100, 41)


async def test_a_turns_writes_and_state_commit_in_one_transaction(services: Services) -> None:
    record = await _stored_record(services)
    record.data["lang"] = 2
    assert await Engine(services)._store(
        _turn(services, record, bookings.record(confirmed(services)))
    )
    assert record.version == 2
    stored = await _state(services)
    assert (stored.version, stored.data) == (2, {"lang": 2})
    rows = await dump(services)
    assert len(rows["bookings"]) == 1 and len(rows["deliveries"]) == 2


async def test_a_failing_write_rolls_back_the_others_and_the_state(services: Services) -> None:
    record = await _stored_record(services)
    await run(services, bookings.record(confirmed(services)))
    before = await dump(services)
    record.data["lang"] = 2
    # A second user's booking, then one reusing the first's idempotency key: refused.
    turn = _turn(
        services,
        record,
        fiches.remember_user(63, "Carl", None),
        bookings.record(confirmed(services, user_id=52, idempotency_key="2:1")),
        bookings.record(confirmed(services, idempotency_key="1:3")),
    )
    with pytest.raises(IntegrityError, match=r"idempotency"):
        await Engine(services)._store(turn)
    assert await dump(services) == before
    stored = await _state(services)
    assert (stored.version, stored.data) == (1, {"lang": 1})


async def test_a_refused_version_keeps_the_writes_but_not_the_state(services: Services) -> None:
    """Another update changed the conversation meanwhile: its state wins (ours is not
    stored), and the turn's writes, which record what the platform already did, are kept."""
    record = await _stored_record(services)
    stale = ConversationRecord(**{**record.__dict__, "data": {"lang": "stale"}})
    record.data["lang"] = "newer"
    assert await Engine(services)._store(_turn(services, record))
    assert not await Engine(services)._store(
        _turn(services, stale, bookings.record(confirmed(services)))
    )
    kept = await _state(services)
    rows = await dump(services)
    assert (kept.version, kept.data, len(rows["bookings"]), len(rows["deliveries"])) == (
        2,
        {"lang": "newer"},
        1,
        2,
    )


async def test_a_move_stores_the_new_time_and_moves_the_reminders(services: Services) -> None:
    later = START + timedelta(days=2, hours=1)
    await run(services, bookings.record(confirmed(services)))
    await run(services, bookings.move(1, later, later + timedelta(minutes=30), NOW))
    await run(services, bookings.move(99, later, later, NOW))  # gone: nothing
    rows = await dump(services)
    assert (rows["bookings"][0]["start_at"], rows["bookings"][0]["end_at"]) == (
        later,
        later + timedelta(minutes=30),
    )
    assert [
        (r["offset_minutes"], r["status"], r["last_error"], r["due_at"]) for r in rows["deliveries"]
    ] == [
        (1440, "cancelled", "rescheduled", START - timedelta(minutes=1440)),
        (120, "cancelled", "rescheduled", START - timedelta(minutes=120)),
        (1440, "pending", None, later - timedelta(minutes=1440)),
        (120, "pending", None, later - timedelta(minutes=120)),
    ]
