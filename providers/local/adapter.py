"""The ``local`` provider's :class:`~providers.base.BookingProvider`: bookings in our own
database, double bookings made impossible by a unique constraint on the time blocks each
appointment claims.

The statements it runs are in :mod:`providers.local.api`, their outcomes become domain errors in
:mod:`providers.local.errors`, and :mod:`providers.local.client` binds it to the database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import ClassVar

from sqlalchemy.ext.asyncio import AsyncConnection

from providers.base import (
    ANY_OPTION,
    ASK_RESOURCE,
    ASK_SERVICE,
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
from providers.local import api
from providers.local.catalog import Catalog, ServiceInfo, StaffInfo
from providers.local.client import LocalClient
from providers.local.errors import appointment_id, claiming_blocks, require_one_changed
from providers.local.schedule import Availability, blocks
from providers.local.settings import LocalSettings


class LocalProvider(BookingProvider):
    """Steps: service, staff (when more than one person could do it), date, slot, customer,
    confirm."""

    kind: ClassVar[str] = "local"
    supports_reschedule: ClassVar[bool] = True
    supports_lookup: ClassVar[bool] = True
    books_in_database: ClassVar[bool] = True

    def __init__(self, deps: ProviderDeps) -> None:
        super().__init__(deps)
        if deps.session_factory is None:
            raise ValueError("the local provider needs a database session factory")
        self._client = LocalClient(deps.session_factory, deps.business_slug)
        self.settings = LocalSettings.model_validate(dict(deps.settings))
        self._catalog: TTLCache[Catalog] = TTLCache(deps.catalog_ttl.total_seconds())

    # -- catalog -------------------------------------------------------------------------------
    async def catalog(self) -> Catalog:
        return await self._catalog.get("catalog", self._client.load_catalog)

    def invalidate_catalog(self) -> None:
        self._catalog.clear()

    async def _chosen(self, selection: Selection) -> tuple[Catalog, ServiceInfo, list[StaffInfo]]:
        """The catalog, the chosen service and who may perform it (the chosen person, or
        everyone who does it), from one read of the catalog cache."""
        catalog = await self.catalog()
        raw = selection.one("service")
        service = catalog.services.get(int(raw)) if raw and raw.isdigit() else None
        if service is None:
            raise NotFound(N_("This service is no longer offered."))
        people = catalog.staff_for(service.id)
        chosen = selection.one("staff")
        if chosen is not None:
            people = [p for p in people if str(p.id) == chosen]
        return catalog, service, people

    async def _service(self, selection: Selection) -> ServiceInfo:
        return (await self._chosen(selection))[1]

    async def _people(self, selection: Selection) -> list[StaffInfo]:
        return (await self._chosen(selection))[2]

    # -- the flow ------------------------------------------------------------------------------
    async def flow(self, selection: Selection) -> Sequence[Step]:
        catalog = await self.catalog()
        steps = [Step("choose", "service", prompt=ASK_SERVICE)]
        if len(catalog.staff) > 1:
            steps.append(Step("choose", "staff", prompt=ASK_RESOURCE))
        steps += [Step("date"), Step("slot"), Step("customer"), Step("confirm")]
        return steps

    async def options(self, step_key: str, selection: Selection) -> Sequence[Option]:
        catalog = await self.catalog()
        if step_key == "service":
            key: tuple[str, ...] = ("options", "service")
        elif step_key == "staff":
            key = ("options", "staff", str((await self._service(selection)).id))
        else:
            raise NotFound(f"no step {step_key!r}")
        # Options are values of the catalog alone: made once per catalog, a new list each call
        cached: tuple[Option, ...] | None = catalog.derived.get(key)
        if cached is None:
            cached = catalog.derived[key] = tuple(self._options(catalog, key))
        return list(cached)

    @staticmethod
    def _options(catalog: Catalog, key: tuple[str, ...]) -> list[Option]:
        if key[1] == "service":
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
        people = [Option(id=str(p.id), label=p.name) for p in catalog.staff_for(int(key[2]))]
        return [Option(id=ANY_OPTION, label=""), *people] if len(people) > 1 else people

    def _window(self) -> tuple[datetime, datetime]:
        now = self.deps.clock()
        return (
            now + timedelta(minutes=self.settings.min_lead_minutes),
            now + timedelta(days=self.settings.horizon_days),
        )

    async def _taken_blocks(
        self, people: list[StaffInfo], first: datetime, last: datetime
    ) -> dict[int, set[int]]:
        """Epoch seconds of the blocks each of ``people`` has claimed in [first, last)."""
        taken: dict[int, set[int]] = {p.id: set() for p in people}
        if not people:
            return taken
        async with self._client.reading() as connection:
            rows = await connection.execute(
                api.TAKEN, {"p_staff": list(taken), "p_first": first, "p_last": last}
            )
            for staff_id, block in rows:
                taken[staff_id].add(block)
        return taken

    async def _availability(self, selection: Selection, first: date, last: date) -> Availability:
        """What slot arithmetic over [first, last] needs: one read of the claimed blocks."""
        catalog, service, people = await self._chosen(selection)
        zone = self.deps.timezone
        duration = timedelta(minutes=service.duration_minutes)
        earliest, latest = self._window()
        # Only blocks a bookable start could run into matter: none before the lead time, none
        # past the horizon's last start plus the service's length (and an hour or two more: on
        # a DST day, a wall-clock length can last an hour longer). A month view on the 20th
        # then skips the claims of the days already gone, and a month past the horizon reads
        # nothing at all.
        range_start = max(datetime.combine(first, time(), tzinfo=zone), earliest)
        range_end = min(
            datetime.combine(last + timedelta(days=1), time(), tzinfo=zone),
            latest + duration + timedelta(hours=3),
        )
        taken = (
            await self._taken_blocks(people, range_start, range_end)
            if range_start < range_end
            else {p.id: set() for p in people}
        )
        return Availability(
            catalog=catalog,
            people=people,
            taken=taken,
            duration=duration,
            step=timedelta(minutes=self.settings.slot_step_minutes),
            earliest=earliest,
            latest=latest,
            zone=zone,
        )

    async def available_days(self, selection: Selection, first: date, last: date) -> set[date]:
        # The month view only needs to know whether each day has one free start: stop at the
        # first instead of building every slot of the month (what _free_slots would do).
        found = await self._availability(selection, first, last)
        return found.free_days(first, last)

    async def slots(self, selection: Selection, day: date) -> Sequence[Slot]:
        found = await self._availability(selection, day, day)
        return found.day_slots(day)

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
        alone = Selection({**selection.choices, "staff": (str(staff_id),)}, selection.language)
        found = await self._availability(alone, day, day)
        if not found.is_free(people[staff_id], start):
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
        async with self._client.writing() as connection:
            return await self.book_in(connection, selection, slot, customer)

    async def book_in(
        self,
        connection: AsyncConnection,
        selection: Selection,
        slot: Slot,
        customer: CustomerDetails,
    ) -> Booking:
        """Book in the caller's transaction: the engine records the booking, its reminders and
        the settled intent in it too, so a crash leaves all of them or none."""
        service, staff_id, start, end = await self._checked_interval(selection, slot)
        business_id = await self._client.business_id()
        appointment = {
            "business_id": business_id,
            "service_id": service.id,
            "staff_id": staff_id,
            "start_at": start,
            "end_at": end,
            "status": "confirmed",
            "customer_name": _customer_name(customer),
            "customer_phone": customer.phone,
            "customer_email": customer.email,
        }
        # A slot taken meanwhile (SlotTaken) fails the caller's whole transaction: nothing in
        # it may commit without the appointment.
        with claiming_blocks():
            found = await connection.execute(api.INSERT_APPOINTMENT, appointment)
            new_id = found.scalar_one()
            await connection.execute(api.INSERT_CLAIM, _claims(new_id, staff_id, start, end))
        return await self._booking(str(new_id), service, staff_id, start, end)

    async def find_booking(
        self, selection: Selection, slot: Slot, customer: CustomerDetails
    ) -> Booking | None:
        """The confirmed appointment of this business at the slot's staff member and start,
        in the customer's name."""
        staff_raw, _, start_raw = slot.id.partition("@")
        try:
            staff_id, start = int(staff_raw), datetime.fromisoformat(start_raw)
        except ValueError:
            return None
        wanted = {
            "p_business": await self._client.business_id(),
            "p_staff": staff_id,
            "p_start": start,
            "p_name": _customer_name(customer),
        }
        async with self._client.reading() as connection:
            row = (await connection.execute(api.FIND_APPOINTMENT, wanted)).first()
        if row is None:
            return None
        catalog = await self.catalog()
        service = catalog.services.get(row.service_id)
        if service is None:
            return None
        return await self._booking(str(row.id), service, staff_id, row.start_at, row.end_at)

    async def _booking(
        self, ref: str, service: ServiceInfo, staff_id: int, start: datetime, end: datetime
    ) -> Booking:
        catalog = await self.catalog()
        return Booking(
            ref=ref,
            start=start,
            end=end,
            service_name=service.name,
            resource_name=catalog.staff[staff_id].name,
            price=Money(service.price, service.currency)
            if service.price is not None and service.currency
            else None,
        )

    async def cancel(self, booking_ref: str, selection: Selection) -> None:
        booking = appointment_id(booking_ref)
        appointment = {"p_id": booking, "p_business": await self._client.business_id()}
        async with self._client.writing() as connection:
            result = await connection.execute(
                api.CANCEL, {**appointment, "p_now": self.deps.clock()}
            )
            require_one_changed(result, "this booking does not exist or is already cancelled")
            await connection.execute(api.FREE_CLAIMS, appointment)

    async def still_booked(
        self, booking_ref: str, selection: Selection, customer_ref: str | None = None
    ) -> bool | None:
        if not booking_ref.isdigit():
            return False
        appointment = {"p_id": int(booking_ref), "p_business": await self._client.business_id()}
        async with self._client.reading() as connection:
            found = (await connection.execute(api.CONFIRMED, appointment)).first()
        return found is not None

    async def reschedule(self, booking_ref: str, selection: Selection, slot: Slot) -> Booking:
        """Claim the new slot and free the old one in one transaction."""
        service, staff_id, start, end = await self._checked_interval(selection, slot)
        business_id = await self._client.business_id()
        appointment = {"p_id": appointment_id(booking_ref), "p_business": business_id}
        moved = {**appointment, "p_start": start, "p_end": end, "p_staff_id": staff_id}
        with claiming_blocks():
            async with self._client.writing() as connection:
                result = await connection.execute(api.RESCHEDULE, moved)
                require_one_changed(
                    result, N_("This appointment no longer exists. It may have been cancelled.")
                )
                await connection.execute(api.FREE_CLAIMS, appointment)
                await connection.execute(
                    api.INSERT_CLAIM, _claims(appointment["p_id"], staff_id, start, end)
                )
        catalog = await self.catalog()
        return Booking(
            ref=booking_ref,
            start=start,
            end=end,
            service_name=service.name,
            resource_name=catalog.staff[staff_id].name,
        )


def _customer_name(customer: CustomerDetails) -> str:
    return f"{customer.first_name} {customer.last_name}".strip()


def _claims(
    appointment: int, staff_id: int, start: datetime, end: datetime
) -> list[dict[str, object]]:
    """The claim rows of an appointment: one per block it occupies."""
    return [
        {"appointment_id": appointment, "staff_id": staff_id, "block_start": b}
        for b in blocks(start, end)
    ]
