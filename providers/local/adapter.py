"""The ``local`` provider: bookings in our own database, double bookings made impossible by a
unique constraint on the time blocks each appointment claims."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from providers.base import (
    ANY_OPTION,
    N_,
    Booking,
    BookingProvider,
    CustomerDetails,
    Hold,
    Money,
    NotFound,
    Option,
    ProviderDeps,
    Selection,
    Slot,
    SlotTaken,
    Step,
)
from providers.http import TTLCache
from providers.local import lane as local_lane
from providers.local.catalog import Catalog, ServiceInfo, StaffInfo, load_catalog
from providers.local.schedule import blocks, days_between, has_free_start, iter_free_starts
from providers.local.settings import LocalSettings, check_settings
from storage.models import Business, LocalAppointment, LocalSlotClaim


@dataclass(frozen=True)
class _Availability:
    people: list[StaffInfo]
    taken: dict[int, set[datetime]]
    duration: timedelta
    step: timedelta
    earliest: datetime
    latest: datetime


class LocalProvider(BookingProvider):
    """Steps: service, staff (when more than one person could do it), date, slot, customer,
    confirm."""

    kind: ClassVar[str] = "local"
    supports_reschedule: ClassVar[bool] = True
    check_settings = staticmethod(check_settings)

    def __init__(self, deps: ProviderDeps) -> None:
        super().__init__(deps)
        if deps.session_factory is None:
            raise ValueError("the local provider needs a database session factory")
        self._sessions: async_sessionmaker[AsyncSession] = deps.session_factory
        self.settings = LocalSettings.model_validate(dict(deps.settings))
        self._catalog: TTLCache[Catalog] = TTLCache(deps.catalog_ttl.total_seconds())
        self._business_id: int | None = None

    # -- catalog -------------------------------------------------------------------------------
    async def business_id(self) -> int:
        if self._business_id is None:
            async with self._sessions() as session:
                found = await session.scalar(
                    select(Business.id).where(Business.slug == self.deps.business_slug)
                )
            if found is None:
                raise NotFound(f"business {self.deps.business_slug} is not in the database")
            self._business_id = found
        return self._business_id

    async def catalog(self) -> Catalog:
        async def load() -> Catalog:
            business_id = await self.business_id()
            async with self._sessions() as session:
                return await load_catalog(session, business_id)

        return await self._catalog.get("catalog", load)

    def invalidate_catalog(self) -> None:
        self._catalog.clear()

    async def _service(self, selection: Selection) -> ServiceInfo:
        catalog = await self.catalog()
        raw = selection.one("service")
        service = catalog.services.get(int(raw)) if raw and raw.isdigit() else None
        if service is None:
            raise NotFound(N_("This service is no longer offered."))
        return service

    async def _people(self, selection: Selection) -> list[StaffInfo]:
        catalog = await self.catalog()
        service = await self._service(selection)
        people = catalog.staff_for(service.id)
        chosen = selection.one("staff")
        if chosen is not None:
            people = [p for p in people if str(p.id) == chosen]
        return people

    # -- the flow ------------------------------------------------------------------------------
    async def flow(self, selection: Selection) -> Sequence[Step]:
        catalog = await self.catalog()
        steps = [Step("choose", "service")]
        if len(catalog.staff) > 1:
            steps.append(Step("choose", "staff"))
        steps += [Step("date"), Step("slot"), Step("customer"), Step("confirm")]
        return steps

    async def options(self, step_key: str, selection: Selection) -> Sequence[Option]:
        catalog = await self.catalog()
        if step_key == "service":
            return [
                Option(
                    id=str(s.id),
                    label=s.name,
                    duration_minutes=s.duration_minutes,
                    price=Money(s.price, s.currency)
                    if s.price is not None and s.currency
                    else None,
                    description=s.description,
                )
                for s in catalog.services.values()
            ]
        if step_key == "staff":
            service = await self._service(selection)
            people = [Option(id=str(p.id), label=p.name) for p in catalog.staff_for(service.id)]
            return [Option(id=ANY_OPTION, label=""), *people] if len(people) > 1 else people
        raise NotFound(f"no step {step_key!r}")

    def _window(self) -> tuple[datetime, datetime]:
        now = self.deps.clock()
        return (
            now + timedelta(minutes=self.settings.min_lead_minutes),
            now + timedelta(days=self.settings.horizon_days),
        )

    async def _taken_blocks(
        self, people: list[StaffInfo], first: datetime, last: datetime
    ) -> dict[int, set[datetime]]:
        taken: dict[int, set[datetime]] = {p.id: set() for p in people}
        if not people:
            return taken
        lane = self.deps.fastlane
        if lane is not None:
            for staff_id, block in await local_lane.taken_blocks(lane, list(taken), first, last):
                taken[staff_id].add(block)
            return taken
        async with self._sessions() as session:
            rows = await session.execute(
                select(LocalSlotClaim.staff_id, LocalSlotClaim.block_start).where(
                    LocalSlotClaim.staff_id.in_([p.id for p in people]),
                    LocalSlotClaim.block_start >= first,
                    LocalSlotClaim.block_start < last,
                )
            )
            for staff_id, block in rows:
                taken[staff_id].add(block)
        return taken

    async def _availability(self, selection: Selection, first: date, last: date) -> _Availability:
        """What slot arithmetic over [first, last] needs: one read of the claimed blocks."""
        service = await self._service(selection)
        people = await self._people(selection)
        zone = self.deps.timezone
        range_start = datetime.combine(first, datetime.min.time(), tzinfo=zone)
        range_end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        earliest, latest = self._window()
        return _Availability(
            people=people,
            taken=await self._taken_blocks(people, range_start, range_end),
            duration=timedelta(minutes=service.duration_minutes),
            step=timedelta(minutes=self.settings.slot_step_minutes),
            earliest=earliest,
            latest=latest,
        )

    async def _free_slots(self, selection: Selection, first: date, last: date) -> list[Slot]:
        found = await self._availability(selection, first, last)
        zone = self.deps.timezone
        by_start: dict[datetime, Slot] = {}
        for day in days_between(first, last):
            for person in found.people:
                for start in iter_free_starts(
                    person,
                    day,
                    found.duration,
                    found.step,
                    zone,
                    found.taken[person.id],
                    found.earliest,
                    found.latest,
                ):
                    # With "any" staff, one slot per start time: the first free person takes it.
                    by_start.setdefault(
                        start,
                        Slot(
                            id=f"{person.id}@{start.astimezone(UTC).isoformat()}",
                            start=start,
                            end=start + found.duration,
                            resource_id=str(person.id),
                            resource_name=person.name,
                        ),
                    )
        return [by_start[k] for k in sorted(by_start)]

    async def available_days(self, selection: Selection, first: date, last: date) -> set[date]:
        # The month view only needs to know whether each day has one free start: stop at the
        # first instead of building every slot of the month (what _free_slots would do).
        found = await self._availability(selection, first, last)
        zone = self.deps.timezone
        return {
            day
            for day in days_between(first, last)
            if any(
                has_free_start(
                    person,
                    day,
                    found.duration,
                    found.step,
                    zone,
                    found.taken[person.id],
                    found.earliest,
                    found.latest,
                )
                for person in found.people
            )
        }

    async def slots(self, selection: Selection, day: date) -> Sequence[Slot]:
        return await self._free_slots(selection, day, day)

    # -- booking -------------------------------------------------------------------------------
    async def _checked_interval(
        self, selection: Selection, slot: Slot
    ) -> tuple[ServiceInfo, int, datetime, datetime]:
        """The service, staff member, start and end a slot stands for, re-checked as free."""
        service, staff_id = await self._check_slot(selection, slot)
        start = datetime.fromisoformat(slot.id.partition("@")[2])
        return service, staff_id, start, start + timedelta(minutes=service.duration_minutes)

    async def _check_slot(self, selection: Selection, slot: Slot) -> tuple[ServiceInfo, int]:
        """Re-derive the slot from our own rules: callback data and state are not trusted."""
        service = await self._service(selection)
        staff_raw, _, start_raw = slot.id.partition("@")
        try:
            staff_id = int(staff_raw)
            start = datetime.fromisoformat(start_raw)
        except ValueError:
            raise NotFound("unknown slot") from None
        people = {p.id: p for p in await self._people(selection)}
        if staff_id not in people or start.tzinfo is None:
            raise NotFound("unknown slot")
        day = start.astimezone(self.deps.timezone).date()
        free = await self._free_slots(
            Selection({**selection.choices, "staff": (str(staff_id),)}, selection.language),
            day,
            day,
        )
        if not any(s.start == start for s in free):
            raise SlotTaken()
        return service, staff_id

    async def book(
        self,
        selection: Selection,
        slot: Slot,
        customer: CustomerDetails,
        *,
        answers: Mapping[str, str] | None = None,
        hold: Hold | None = None,
    ) -> Booking:
        service, staff_id, start, end = await self._checked_interval(selection, slot)
        business_id = await self.business_id()
        name = f"{customer.first_name} {customer.last_name}".strip()
        lane = self.deps.fastlane
        if lane is not None:
            appointment_id = await local_lane.insert_appointment(
                lane,
                business_id=business_id,
                service_id=service.id,
                staff_id=staff_id,
                start=start,
                end=end,
                customer=(name, customer.phone, customer.email),
                blocks=list(blocks(start, end)),
            )
        else:
            appointment = LocalAppointment(
                business_id=business_id,
                service_id=service.id,
                staff_id=staff_id,
                start_at=start,
                end_at=end,
                customer_name=name,
                customer_phone=customer.phone,
                customer_email=customer.email,
            )
            try:
                # Writes only, so on SQLite the transaction takes the write lock at once and
                # waits (busy_timeout) instead of failing on a stale read snapshot.
                async with self._sessions() as session, session.begin():
                    session.add(appointment)
                    await session.flush()
                    session.add_all(
                        LocalSlotClaim(
                            appointment_id=appointment.id, staff_id=staff_id, block_start=b
                        )
                        for b in blocks(start, end)
                    )
            except IntegrityError:
                raise SlotTaken() from None
            appointment_id = appointment.id
        catalog = await self.catalog()
        return Booking(
            ref=str(appointment_id),
            start=start,
            end=end,
            service_name=service.name,
            resource_name=catalog.staff[staff_id].name,
            price=Money(service.price, service.currency)
            if service.price is not None and service.currency
            else None,
        )

    async def cancel(self, booking_ref: str, selection: Selection) -> None:
        if not booking_ref.isdigit():
            raise NotFound("unknown booking")
        business_id = await self.business_id()
        lane = self.deps.fastlane
        if lane is not None:
            if not await local_lane.cancel_appointment(
                lane, int(booking_ref), business_id, self.deps.clock()
            ):
                raise NotFound("this booking does not exist or is already cancelled")
            return
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(LocalAppointment)
                .where(
                    LocalAppointment.id == int(booking_ref),
                    LocalAppointment.business_id == business_id,
                    LocalAppointment.status == "confirmed",
                )
                .values(status="cancelled", cancelled_at=self.deps.clock())
            )
            if _rowcount(result) != 1:
                raise NotFound("this booking does not exist or is already cancelled")
            await session.execute(
                delete(LocalSlotClaim).where(LocalSlotClaim.appointment_id == int(booking_ref))
            )

    async def reschedule(self, booking_ref: str, selection: Selection, slot: Slot) -> Booking:
        """Claim the new slot and free the old one in one transaction."""
        service, staff_id, start, end = await self._checked_interval(selection, slot)
        business_id = await self.business_id()
        if not booking_ref.isdigit():
            raise NotFound("unknown booking")
        try:
            async with self._sessions() as session, session.begin():
                result = await session.execute(
                    update(LocalAppointment)
                    .where(
                        LocalAppointment.id == int(booking_ref),
                        LocalAppointment.business_id == business_id,
                        LocalAppointment.status == "confirmed",
                    )
                    .values(start_at=start, end_at=end, staff_id=staff_id)
                )
                if _rowcount(result) != 1:
                    raise NotFound(
                        N_("This appointment no longer exists. It may have been cancelled.")
                    )
                await session.execute(
                    delete(LocalSlotClaim).where(LocalSlotClaim.appointment_id == int(booking_ref))
                )
                session.add_all(
                    LocalSlotClaim(
                        appointment_id=int(booking_ref), staff_id=staff_id, block_start=b
                    )
                    for b in blocks(start, end)
                )
        except IntegrityError:
            raise SlotTaken() from None
        catalog = await self.catalog()
        return Booking(
            ref=booking_ref,
            start=start,
            end=end,
            service_name=service.name,
            resource_name=catalog.staff[staff_id].name,
        )


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0))
