"""The booking records on SQLite's fast lane (storage/bookings.py, storage/fiches.py,
bot/delivery/reminders.py): the lane form of each write stores exactly the row its SQLAlchemy
form stores (column by column, storage class included), the reads return the same views on both
paths, ownership holds on both, and the engine commits a turn's lane writes with its state in
one transaction."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from bot.config import load_config
from bot.engine.engine import Engine
from bot.engine.state import ConversationState
from bot.engine.turn import Turn
from bot.engine.types import Event
from bot.services import Services, build_services
from providers.base import Booking as ProviderBooking
from storage import bookings, fiches
from storage.conversations import ConversationRecord, load_fast, save_fast
from storage.fastlane import to_db_datetime
from storage.writes import Write

NOW = datetime(2031, 5, 2, 8, 15, 30, 250, tzinfo=UTC)
START = NOW + timedelta(days=3, hours=2)
TABLES = ("users", "fiches", "bookings", "deliveries")
#: SQLite's CURRENT_TIMESTAMP, the schema's default for created_at (both paths leave it to it)
SERVER_NOW = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def _config(path: Path) -> Any:
    return load_config(env={}).model_copy(update={"database_url": f"sqlite+aiosqlite:///{path}"})


@pytest.fixture
async def apart(tmp_path: Path) -> AsyncIterator[tuple[Services, Services]]:
    """The lane path and the SQLAlchemy path, each on a database of its own (same ids)."""
    lane = await build_services(_config(tmp_path / "lane.db"), env={})
    orm = await build_services(_config(tmp_path / "orm.db"), env={}, fastlane=False)
    assert lane.fastlane is not None and orm.fastlane is None
    yield lane, orm
    await lane.aclose()
    await orm.aclose()


@pytest.fixture
async def shared(tmp_path: Path) -> AsyncIterator[tuple[Services, Services]]:
    """Both paths on one database."""
    config = _config(tmp_path / "both.db")
    lane = await build_services(config, env={})
    orm = await build_services(config, env={}, migrate=False, fastlane=False)
    yield lane, orm
    await lane.aclose()
    await orm.aclose()


async def run(services: Services, write: Write) -> None:
    """One write in a transaction of its own, on the path ``services`` uses."""
    if services.fastlane is not None:
        async with services.fastlane.transaction() as connection:
            await write.lane(connection)
    else:
        async with services.sessions() as session, session.begin():
            await write.session(session)


def confirmed(services: Services, **changes: Any) -> bookings.Confirmed:
    business = services.config.businesses[0]
    base = bookings.Confirmed(
        user_id=41,
        chat_id=4100,
        first_name="Anna",
        telegram_language="fr",
        business=business,
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


def dump(services: Services) -> dict[str, list[dict[str, Any]]]:
    """Every row of the booking tables as stored: value and SQLite storage class per column.
    created_at is the schema's default (the clock at insert), checked for its shape only."""
    path = services.config.database_url.removeprefix("sqlite+aiosqlite:///")
    db = sqlite3.connect(path)
    try:
        tables: dict[str, list[dict[str, Any]]] = {}
        for table in TABLES:
            columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
            typed = ", ".join(f"{c}, typeof({c})" for c in columns)
            rows = []
            for found in db.execute(f"SELECT {typed} FROM {table} ORDER BY rowid"):  # noqa: S608
                row = {c: (found[2 * i], found[2 * i + 1]) for i, c in enumerate(columns)}
                created, kind = row.pop("created_at")
                assert kind == "text" and SERVER_NOW.match(created), created
                rows.append(row)
            tables[table] = rows
        return tables
    finally:
        db.close()


async def test_both_paths_store_identical_rows(apart: tuple[Services, Services]) -> None:
    for services in apart:
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
                    first_name="Bob " * 60,  # longer than the column: cut as the ORM does
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
    lane, orm = (dump(services) for services in apart)
    assert lane == orm
    # And the rows are what was meant (so "equal" is not "equally empty").
    assert [(r["id"][0], r["first_name"][0], r["language"][0]) for r in lane["users"]] == [
        (41, "Anna", "en"),
        (52, ("Bob " * 60)[:200], None),
        (63, "Carl", None),
    ]
    assert [(r["user_id"][0], r["last_name"][0], r["phone"][0]) for r in lane["fiches"]] == [
        (41, "Martin-Roy", "+33612345678"),
        (52, "Roy", None),
    ]
    assert lane["fiches"][0]["birth_date"] == ("1990-04-01", "text")
    assert lane["fiches"][0]["label"] == ("me", "text")
    assert [(r["status"][0], r["price_amount"]) for r in lane["bookings"]] == [
        ("cancelled", (25.5, "real")),
        ("confirmed", (30, "integer")),
        ("confirmed", (None, "null")),
    ]
    assert lane["bookings"][0]["selection"] == (
        '{"service":["haircut"],"staff":["marie"]}',  # storage/jsontext.py's compact text
        "text",
    )
    reminders = [
        (r["booking_id"][0], r["offset_minutes"][0], r["status"][0], r["last_error"][0])
        for r in lane["deliveries"]
    ]
    # Booking 3 starts in 3 h: only its 2 h reminder is ahead.
    assert reminders == [
        (1, 1440, "cancelled", "cancelled"),
        (1, 120, "cancelled", "cancelled"),
        (2, 1440, "pending", None),
        (2, 120, "pending", None),
        (3, 120, "pending", None),
    ]
    assert lane["deliveries"][2]["due_at"] == (
        to_db_datetime(START + timedelta(days=1) - timedelta(minutes=1440)),
        "text",
    )


async def test_reads_are_the_same_views_on_both_paths(shared: tuple[Services, Services]) -> None:
    lane, orm = shared
    await run(lane, bookings.record(confirmed(lane)))
    await run(orm, bookings.record(confirmed(orm, fiche_id=1, idempotency_key="1:4")))
    await run(lane, bookings.record(confirmed(lane, user_id=52, idempotency_key="2:4")))
    for user_id in (41, 52, 99):
        views = await bookings.upcoming(lane, user_id, NOW)
        assert views == await bookings.upcoming(orm, user_id, NOW)
        business_id = lane.business_ids["sample-salon"]
        assert await fiches.for_user(lane, user_id, business_id) == await fiches.for_user(
            orm, user_id, business_id
        )
        assert await fiches.all_for_user(lane, user_id) == await fiches.all_for_user(orm, user_id)
    views = await bookings.upcoming(lane, 41, NOW)
    assert [(v.id, v.user_id, v.status, v.start_at) for v in views] == [
        (1, 41, "confirmed", START),
        (2, 41, "confirmed", START),
    ]
    assert views[0].selection == {"service": ["haircut"], "staff": ["marie"]}
    assert (await fiches.for_user(lane, 41, lane.business_ids["sample-salon"]))[0].birth_date == (
        datetime(1990, 4, 1).date()
    )
    # Ended bookings are not upcoming, on either path.
    assert await bookings.upcoming(lane, 41, START + timedelta(hours=1)) == []
    assert await bookings.upcoming(orm, 41, START + timedelta(hours=1)) == []
    for services in shared:
        assert await bookings.owned(services, 1, 41) == views[0]
        assert await bookings.owned(services, 3, 41) is None  # user 52's
        assert await bookings.owned(services, 1, 52) is None
        assert await bookings.owned(services, 99, 41) is None


async def test_a_cancel_on_the_lane_withdraws_the_reminders_read_by_the_orm(
    shared: tuple[Services, Services],
) -> None:
    lane, orm = shared
    await run(orm, bookings.record(confirmed(orm)))
    async with lane.fastlane.transaction() as connection:  # type: ignore[union-attr]
        assert not await bookings.cancel_owned_fast(connection, 1, 52, NOW)  # not theirs
        assert await bookings.cancel_owned_fast(connection, 1, 41, NOW)
        assert not await bookings.cancel_owned_fast(connection, 1, 41, NOW)  # done already
    view = await bookings.owned(orm, 1, 41)
    assert view is not None and view.status == "cancelled"
    assert await bookings.upcoming(orm, 41, NOW) == []
    rows = dump(orm)
    assert rows["bookings"][0]["cancelled_at"] == (to_db_datetime(NOW), "text")
    assert [(r["status"][0], r["last_error"][0]) for r in rows["deliveries"]] == [
        ("cancelled", "cancelled"),
        ("cancelled", "cancelled"),
    ]


async def test_someone_elses_fiche_is_never_written_on_either_path(
    apart: tuple[Services, Services],
) -> None:
    for services in apart:
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
        path = services.config.database_url.removeprefix("sqlite+aiosqlite:///")
        with sqlite3.connect(path) as db:
            db.execute(
                "INSERT INTO businesses (id, slug, name, provider_kind, timezone) "
                "VALUES (77, 'other', 'Other', 'local', 'UTC')"
            )
        await run(
            services,
            bookings.record(
                confirmed(
                    services,
                    business_id=77,
                    fiche_id=1,
                    details={"first_name": "Anna", "last_name": "Elsewhere"},
                    idempotency_key="1:2",
                )
            ),
        )
    lane, orm = (dump(services) for services in apart)
    assert lane == orm
    assert [
        (r["id"][0], r["user_id"][0], r["business_id"][0], r["last_name"][0])
        for r in lane["fiches"]
    ] == [
        (1, 41, 1, "Martin"),
        (2, 52, 1, "Intruder"),
        (3, 41, 77, "Elsewhere"),
    ]
    assert [r["fiche_id"][0] for r in lane["bookings"]] == [1, 2, 3]


def _turn(services: Services, record: ConversationRecord, *writes: Any) -> Turn:
    event = Event(user_id=41, chat_id=4100, kind="command", command="book", first_name="Anna")
    state = ConversationState.from_stored(record.data)
    turn = Turn(services, event, record, state, now=NOW, language="en")
    turn.writes.extend(writes)
    return turn


async def _stored_record(services: Services) -> ConversationRecord:
    record = ConversationRecord(chat_id=4100, user_id=41, data={"lang": 1})
    assert await Engine(services)._store(_turn(services, record))
    return record


async def test_a_turns_writes_and_state_commit_in_one_lane_transaction(
    apart: tuple[Services, Services],
) -> None:
    for services in apart:
        record = await _stored_record(services)
        record.data["lang"] = 2
        assert await Engine(services)._store(
            _turn(services, record, bookings.record(confirmed(services)))
        )
        assert record.version == 2
    lane, orm = apart
    assert dump(lane) == dump(orm)
    assert (await load_fast(lane.fastlane, 4100, 41)).data == {"lang": 2}  # type: ignore[arg-type]
    assert len(dump(lane)["deliveries"]) == 2


async def test_a_failing_write_rolls_back_the_others_and_the_state_on_both_paths(
    apart: tuple[Services, Services],
) -> None:
    for services in apart:
        record = await _stored_record(services)
        await run(services, bookings.record(confirmed(services)))
        before = dump(services)
        record.data["lang"] = 2
        # A second user's booking, then one reusing the first's idempotency key: refused.
        turn = _turn(
            services,
            record,
            fiches.remember_user(63, "Carl", None),
            bookings.record(confirmed(services, user_id=52, idempotency_key="2:1")),
            bookings.record(confirmed(services, idempotency_key="1:3")),
        )
        with pytest.raises(
            (sqlite3.IntegrityError, IntegrityError), match=r"bookings\.idempotency"
        ):
            await Engine(services)._store(turn)
        assert dump(services) == before
        if services.fastlane is not None:
            stored = await load_fast(services.fastlane, 4100, 41)
            assert (stored.version, stored.data) == (1, {"lang": 1})


async def test_a_refused_version_is_handled_alike_on_both_paths(
    apart: tuple[Services, Services],
) -> None:
    """Another update changed the conversation meanwhile: its state wins (ours is not
    stored), and the turn's writes, which record what the platform already did, are kept,
    on the lane as on the SQLAlchemy path."""
    outcomes = []
    for services in apart:
        record = await _stored_record(services)
        stale = ConversationRecord(**{**record.__dict__, "data": {"lang": "stale"}})
        record.data["lang"] = "newer"
        assert await Engine(services)._store(_turn(services, record))
        assert not await Engine(services)._store(
            _turn(services, stale, bookings.record(confirmed(services)))
        )
        async with services.sessions() as session:
            from storage.conversations import load

            kept = await load(session, 4100, 41)
        outcomes.append((kept.version, kept.data, len(dump(services)["bookings"])))
    assert outcomes[0] == outcomes[1] == (2, {"lang": "newer"}, 1)


async def test_a_session_only_write_sends_the_whole_turn_through_a_session(
    apart: tuple[Services, Services],
) -> None:
    lane, _ = apart
    record = await _stored_record(lane)
    seen: list[str] = []

    async def session_only(session: Any) -> None:
        seen.append(type(session).__name__)

    record.data["lang"] = 2
    assert await Engine(lane)._store(
        _turn(lane, record, fiches.remember_user(63, "Carl", None), session_only)
    )
    assert seen == ["AsyncSession"]
    assert [r["id"][0] for r in dump(lane)["users"]] == [63]
    assert (await load_fast(lane.fastlane, 4100, 41)).version == 2  # type: ignore[arg-type]


async def test_a_joined_lane_commits_nothing_itself(apart: tuple[Services, Services]) -> None:
    lane = apart[0].fastlane
    assert lane is not None
    record = ConversationRecord(chat_id=1, user_id=2, data={"n": 1})
    with pytest.raises(RuntimeError):
        async with lane.transaction() as connection:
            joined = lane.joined(connection)
            assert await save_fast(joined, record, expires_at=NOW, now=NOW)
            assert await joined.fetchone("SELECT count(*) FROM conversations") == (1,)
            raise RuntimeError("a later part of the transaction failed")
    assert await lane.fetchone("SELECT count(*) FROM conversations") == (0,)


async def test_a_move_stores_the_same_rows_on_both_paths(apart: tuple[Services, Services]) -> None:
    later = START + timedelta(days=2, hours=1)
    for services in apart:
        business = services.config.businesses[0]
        await run(services, bookings.record(confirmed(services)))
        await run(services, bookings.move(1, later, later + timedelta(minutes=30), business, NOW))
        await run(services, bookings.move(99, later, later, business, NOW))  # gone: nothing
    lane, orm = (dump(services) for services in apart)
    assert lane == orm
    assert lane["bookings"][0]["start_at"] == (to_db_datetime(later), "text")
    assert [
        (r["offset_minutes"][0], r["status"][0], r["last_error"][0], r["due_at"][0])
        for r in lane["deliveries"]
    ] == [
        (1440, "cancelled", "rescheduled", to_db_datetime(START - timedelta(minutes=1440))),
        (120, "cancelled", "rescheduled", to_db_datetime(START - timedelta(minutes=120))),
        (1440, "pending", None, to_db_datetime(later - timedelta(minutes=1440))),
        (120, "pending", None, to_db_datetime(later - timedelta(minutes=120))),
    ]
