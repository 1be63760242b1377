"""The local calendar's catalog: synchronised from the configuration into the database at
start-up, and read back (cached) by the adapter.

A module of its own because start-up (the sync) and the adapter (the cached reads) both use it,
and the platforms' catalogs likewise live beside their adapters (``qmatic/catalog.py``,
``clicrdv/catalog.py``)."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from providers.local.settings import WEEKDAYS, LocalSettings, parse_range
from storage.models import LocalHours, LocalService, LocalStaff, LocalStaffService


@dataclass(frozen=True)
class ServiceInfo:
    id: int
    key: str
    name: str
    duration_minutes: int
    price: Decimal | None
    currency: str | None
    description: str | None


@dataclass(frozen=True)
class StaffInfo:
    id: int
    key: str
    name: str
    service_ids: frozenset[int]
    #: weekday -> open ranges and break ranges (wall-clock, business time zone)
    open_hours: dict[int, list[tuple[time, time]]] = field(default_factory=dict)
    breaks: dict[int, list[tuple[time, time]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalog:
    services: dict[int, ServiceInfo]
    staff: dict[int, StaffInfo]
    #: Values derived from this catalog alone (each person's candidate starts per weekday and
    #: duration, the Slot values shown): they live exactly as long as the catalog they were
    #: computed from (its cache TTL), so a reload can never leave one stale and they cannot
    #: pile up.
    derived: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)

    def staff_for(self, service_id: int) -> list[StaffInfo]:
        return [s for s in self.staff.values() if service_id in s.service_ids]


async def sync_catalog(session: AsyncSession, business_id: int, settings: LocalSettings) -> None:
    """Make the database's services, staff and hours match ``settings``.

    Services and staff are matched by key, so ids (referenced by past appointments) survive a
    configuration change; ones removed from the file are deactivated, not deleted.
    """
    services = await _sync_services(session, business_id, settings)
    staff = await _sync_staff(session, business_id, settings)
    await session.flush()
    await _replace_assignments(session, settings, services, staff)
    await session.flush()


async def _sync_services(
    session: AsyncSession, business_id: int, settings: LocalSettings
) -> dict[str, LocalService]:
    """Every service row of the business by key, the configured ones updated and active."""
    services = {
        s.key: s
        for s in await session.scalars(
            select(LocalService).where(LocalService.business_id == business_id)
        )
    }
    for wanted in settings.services:
        row = services.get(wanted.key) or LocalService(business_id=business_id, key=wanted.key)
        row.name = wanted.name
        row.duration_minutes = wanted.duration
        row.price_amount = wanted.price
        row.currency = settings.currency if wanted.price is not None else None
        row.description = wanted.description
        row.active = True
        session.add(row)
        services[wanted.key] = row
    for key, row in services.items():
        if key not in {s.key for s in settings.services}:
            row.active = False
    return services


async def _sync_staff(
    session: AsyncSession, business_id: int, settings: LocalSettings
) -> dict[str, LocalStaff]:
    """Every staff row of the business by key, the configured ones updated and active."""
    staff = {
        s.key: s
        for s in await session.scalars(
            select(LocalStaff).where(LocalStaff.business_id == business_id)
        )
    }
    for wanted_staff in settings.staff:
        person = staff.get(wanted_staff.key) or LocalStaff(
            business_id=business_id, key=wanted_staff.key
        )
        person.name = wanted_staff.name
        person.active = True
        session.add(person)
        staff[wanted_staff.key] = person
    for key, person in staff.items():
        if key not in {s.key for s in settings.staff}:
            person.active = False
    return staff


async def _replace_assignments(
    session: AsyncSession,
    settings: LocalSettings,
    services: dict[str, LocalService],
    staff: dict[str, LocalStaff],
) -> None:
    """Who does which service, and the weekly hours and breaks: written anew from ``settings``
    (rows with ids, so ``staff`` must have been flushed)."""
    staff_ids = [p.id for p in staff.values()]
    await session.execute(
        delete(LocalStaffService).where(LocalStaffService.staff_id.in_(staff_ids))
    )
    await session.execute(delete(LocalHours).where(LocalHours.staff_id.in_(staff_ids)))
    for wanted_staff in settings.staff:
        person = staff[wanted_staff.key]
        keys = wanted_staff.services or [s.key for s in settings.services]
        for key in keys:
            session.add(LocalStaffService(staff_id=person.id, service_id=services[key].id))
        for kind, weekly in (("open", wanted_staff.hours), ("break", wanted_staff.breaks)):
            for day, ranges in weekly.items():
                for text in ranges:
                    start, end = parse_range(text)
                    session.add(
                        LocalHours(
                            staff_id=person.id,
                            weekday=WEEKDAYS.index(day),
                            start_time=start,
                            end_time=end,
                            kind=kind,
                        )
                    )


async def load_catalog(session: AsyncSession, business_id: int) -> Catalog:
    services = {
        s.id: ServiceInfo(
            id=s.id,
            key=s.key,
            name=s.name,
            duration_minutes=s.duration_minutes,
            price=s.price_amount,
            currency=s.currency,
            description=s.description,
        )
        for s in await session.scalars(
            select(LocalService)
            .where(LocalService.business_id == business_id, LocalService.active.is_(True))
            .order_by(LocalService.id)
        )
    }
    people = list(
        await session.scalars(
            select(LocalStaff)
            .where(LocalStaff.business_id == business_id, LocalStaff.active.is_(True))
            .order_by(LocalStaff.id)
        )
    )
    ids = [p.id for p in people]
    links = (
        await session.execute(
            select(LocalStaffService.staff_id, LocalStaffService.service_id).where(
                LocalStaffService.staff_id.in_(ids)
            )
        )
    ).all()
    hours = list(await session.scalars(select(LocalHours).where(LocalHours.staff_id.in_(ids))))
    staff: dict[int, StaffInfo] = {}
    for person in people:
        open_hours: dict[int, list[tuple[time, time]]] = {}
        breaks: dict[int, list[tuple[time, time]]] = {}
        for h in hours:
            if h.staff_id == person.id:
                target = open_hours if h.kind == "open" else breaks
                target.setdefault(h.weekday, []).append((h.start_time, h.end_time))
        for table in (open_hours, breaks):
            for ranges in table.values():
                ranges.sort()
        staff[person.id] = StaffInfo(
            id=person.id,
            key=person.key,
            name=person.name,
            service_ids=frozenset(
                sid for pid, sid in links if pid == person.id and sid in services
            ),
            open_hours=open_hours,
            breaks=breaks,
        )
    return Catalog(services=services, staff=staff)
