"""The local calendar's two database paths on one database: what the fast lane writes, the
SQLAlchemy path (PostgreSQL's) reads the same, and the other way round; the (staff, block)
claim refuses a double booking whichever path each customer came through."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import load_config
from bot.services import Services, build_services
from providers.base import CustomerDetails, SlotTaken
from storage.models import LocalAppointment, LocalSlotClaim
from tests.contract.harness import ContractTarget, walk_to_slots

ANNA = CustomerDetails(
    first_name="Anna", last_name="Martin", phone="+33612345678", email="anna@example.org"
)
BOB = CustomerDetails(first_name="Bob", last_name="Roy", phone=None, email=None)


@pytest.fixture
async def paths(tmp_path: Path) -> AsyncIterator[tuple[Services, Services]]:
    config = load_config(env={}).model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'both.db'}"}
    )
    lane = await build_services(config, env={})
    orm = await build_services(config, env={}, migrate=False, fastlane=False)
    assert lane.fastlane is not None and orm.fastlane is None
    yield lane, orm
    await lane.aclose()
    await orm.aclose()


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


async def test_a_lane_booking_reads_like_an_orm_booking_and_blocks_the_orm_path(
    paths: tuple[Services, Services],
) -> None:
    lane, orm = paths
    walk = await walk_to_slots(_target(lane))
    first = walk.slots[0]
    second = next(s for s in walk.slots if s.start >= first.end)  # slots overlap otherwise
    via_lane = await lane.providers["sample-salon"].book(walk.selection, first, ANNA)
    via_orm = await orm.providers["sample-salon"].book(walk.selection, second, ANNA)
    rows = await _rows(orm)
    assert [r["start_at"] for r in rows] == [first.start, second.start]
    assert {k: v for k, v in rows[0].items() if k not in ("start_at", "end_at")} == {
        k: v for k, v in rows[1].items() if k not in ("start_at", "end_at")
    }
    assert rows[0]["end_at"] - rows[0]["start_at"] == via_lane.end - via_lane.start
    assert rows[1]["end_at"] == via_orm.end

    # Each path sees the other's booking as taken, and refuses to book it again.
    for services in (lane, orm):
        left = await services.providers["sample-salon"].slots(walk.selection, walk.day)
        assert first.start not in {s.start for s in left}
        assert second.start not in {s.start for s in left}
    with pytest.raises(SlotTaken):
        await orm.providers["sample-salon"].book(walk.selection, first, BOB)
    with pytest.raises(SlotTaken):
        await lane.providers["sample-salon"].book(walk.selection, second, BOB)


async def test_cancelling_on_one_path_frees_the_slot_for_the_other(
    paths: tuple[Services, Services],
) -> None:
    lane, orm = paths
    walk = await walk_to_slots(_target(lane))
    slot = walk.slots[0]
    made = await orm.providers["sample-salon"].book(walk.selection, slot, ANNA)
    await lane.providers["sample-salon"].cancel(made.ref, walk.selection)
    rows = await _rows(orm)
    assert rows[0]["status"] == "cancelled" and rows[0]["cancelled_at"] is not None
    async with orm.sessions() as session:
        assert list(await session.scalars(select(LocalSlotClaim))) == []
    again = await orm.providers["sample-salon"].book(walk.selection, slot, BOB)
    await orm.providers["sample-salon"].cancel(again.ref, walk.selection)
    third = await lane.providers["sample-salon"].book(walk.selection, slot, ANNA)
    assert third.start == slot.start
