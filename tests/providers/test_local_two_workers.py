"""The local calendar run by two workers on one database (SQLite, then PostgreSQL): what one
books, the other reads the same and refuses to book again (the (staff, block) claim), and
what one cancels, the other can book."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import load_config
from bot.services import Services, build_services
from providers.base import CustomerDetails, SlotTaken
from providers.local.client import LocalClient
from storage.models import LocalAppointment, LocalSlotClaim
from tests.contract.harness import ContractTarget, walk_to_slots
from tests.storage.postgres import empty_database_url, postgres_url

__all__ = ["empty_database_url", "postgres_url"]  # the fixtures, imported so pytest finds them

ANNA = CustomerDetails(
    first_name="Anna", last_name="Martin", phone="+33612345678", email="anna@example.org"
)
BOB = CustomerDetails(first_name="Bob", last_name="Roy", phone=None, email=None)


@pytest.fixture
async def workers(empty_database_url: str) -> AsyncIterator[tuple[Services, Services]]:
    config = load_config(env={}).model_copy(update={"database_url": empty_database_url})
    first = await build_services(config, env={})
    second = await build_services(config, env={}, migrate=False)
    yield first, second
    await first.aclose()
    await second.aclose()


def _target(services: Services) -> ContractTarget:
    return ContractTarget(name="local", provider=services.providers["sample-salon"], customer=ANNA)


async def _rows(services: Services) -> list[dict[str, Any]]:
    async with services.sessions() as session:
        found = await session.scalars(select(LocalAppointment).order_by(LocalAppointment.id))
        return [
            {
                c: getattr(row, c)
                for c in (
                    "service_id",
                    "staff_id",
                    "start_at",
                    "end_at",
                    "status",
                    "customer_name",
                    "customer_phone",
                    "customer_email",
                    "cancelled_at",
                )
            }
            for row in found
        ]


async def test_a_booking_by_one_worker_reads_the_same_and_blocks_the_other(
    workers: tuple[Services, Services],
) -> None:
    first_worker, second_worker = workers
    walk = await walk_to_slots(_target(first_worker))
    first = walk.slots[0]
    second = next(s for s in walk.slots if s.start >= first.end)  # slots overlap otherwise
    by_first = await first_worker.providers["sample-salon"].book(walk.selection, first, ANNA)
    by_second = await second_worker.providers["sample-salon"].book(walk.selection, second, ANNA)
    rows = await _rows(second_worker)
    assert [r["start_at"] for r in rows] == [first.start, second.start]
    assert {k: v for k, v in rows[0].items() if k not in ("start_at", "end_at")} == {
        k: v for k, v in rows[1].items() if k not in ("start_at", "end_at")
    }
    assert rows[0]["end_at"] - rows[0]["start_at"] == by_first.end - by_first.start
    assert rows[1]["end_at"] == by_second.end

    # Each worker sees the other's booking as taken, and refuses to book it again.
    for services in (first_worker, second_worker):
        left = await services.providers["sample-salon"].slots(walk.selection, walk.day)
        assert first.start not in {s.start for s in left}
        assert second.start not in {s.start for s in left}
    with pytest.raises(SlotTaken):
        await second_worker.providers["sample-salon"].book(walk.selection, first, BOB)
    with pytest.raises(SlotTaken):
        await first_worker.providers["sample-salon"].book(walk.selection, second, BOB)


async def test_cancelling_by_one_worker_frees_the_slot_for_the_other(
    workers: tuple[Services, Services],
) -> None:
    first_worker, second_worker = workers
    walk = await walk_to_slots(_target(first_worker))
    slot = walk.slots[0]
    made = await second_worker.providers["sample-salon"].book(walk.selection, slot, ANNA)
    await first_worker.providers["sample-salon"].cancel(made.ref, walk.selection)
    rows = await _rows(second_worker)
    assert rows[0]["status"] == "cancelled" and rows[0]["cancelled_at"] is not None
    async with second_worker.sessions() as session:
        assert list(await session.scalars(select(LocalSlotClaim))) == []
    again = await second_worker.providers["sample-salon"].book(walk.selection, slot, BOB)
    await second_worker.providers["sample-salon"].cancel(again.ref, walk.selection)
    third = await first_worker.providers["sample-salon"].book(walk.selection, slot, ANNA)
    assert third.start == slot.start


async def test_reads_of_the_calendar_run_outside_a_transaction(
    workers: tuple[Services, Services],
) -> None:
    # On PostgreSQL a read inside a session's transaction costs BEGIN, the read and ROLLBACK:
    # three round trips instead of one. The calendar reads in autocommit mode there.
    services, _ = workers
    client = LocalClient(services.sessions, "sample-salon")
    async with client.reading() as connection:
        assert connection.sync_connection is not None
        level = connection.sync_connection.get_execution_options().get("isolation_level")
        if connection.dialect.name == "postgresql":
            assert level == "AUTOCOMMIT"
        assert await connection.scalar(select(LocalSlotClaim.id).limit(1)) is None
