"""The Qmatic Cloud Appointments adapter (:class:`QmaticProvider`).

Flow: service group (only when the tenant has groups) -> service (``onlineBookable`` only) ->
branch -> resource -> party size -> date -> slot -> questions -> customer -> confirm.

``flow()`` is called before anything is chosen, so the resource and party-size steps are declared
when *any* bookable service needs them; for a service that does not, ``options("resource")``
answers only :data:`~providers.base.ANY_OPTION` and ``options("party_size")`` only ``"1"``.

A slot is held with ``POST /reservations`` (15 minutes). If the hold ran out before the customer
confirmed, :meth:`QmaticProvider.book` reserves the same slot again when it is still free and
confirms that; when it is gone it raises :class:`~providers.base.SlotTaken` so the engine offers
fresh slots. A booking is never sent twice for one reservation, so it cannot book twice.

The external customer identifier (``personalIdentifier``, which keys Qmatic's appointment search)
is never asked: the adapter generates one for a new person and returns it as the booking's
``customer_ref``, which the engine keeps in the fiche; the fiche's is reused afterwards.

Beyond :class:`~providers.base.BookingProvider`, the adapter offers
:meth:`~QmaticProvider.update_customer` and :meth:`~QmaticProvider.find_appointments`.

Settings: :class:`~providers.qmatic.settings.QmaticSettings`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from providers.base import (
    ANY_OPTION,
    ASK_CATEGORY,
    ASK_LOCATION,
    ASK_PARTY_SIZE,
    ASK_RESOURCE,
    ASK_SERVICE,
    N_,
    Booking,
    BookingProvider,
    BookingRefused,
    CustomerDetails,
    CustomerField,
    CustomerForm,
    HoldExpired,
    NotFound,
    Option,
    ProviderDeps,
    ProviderError,
    ProviderUnavailable,
    Question,
    Selection,
    Slot,
    SlotTaken,
    Step,
)
from providers.base import Hold as HoldValue
from providers.http import TTLCache
from providers.qmatic import api, rules
from providers.qmatic.catalog import Catalog, Offering, parse_groups, parse_offerings
from providers.qmatic.client import QmaticClient
from providers.qmatic.errors import Operation, shape_error
from providers.qmatic.reservations import Reservations, booking_of
from providers.qmatic.settings import QmaticSettings
from providers.settings import secret

log = logging.getLogger(__name__)


class QmaticProvider(BookingProvider):
    """Books Qmatic Cloud Appointments through the "external/v1" REST API."""

    kind = "qmatic"
    supports_holds = True
    supports_reschedule = True
    supports_lookup = True

    def __init__(self, deps: ProviderDeps) -> None:
        super().__init__(deps)
        settings = QmaticSettings.model_validate(dict(deps.settings))
        self._owns_http = deps.http is None
        self._http = deps.http or httpx.AsyncClient(timeout=httpx.Timeout(10.0))
        self._client = QmaticClient(
            self._http,
            base_url=settings.root_url(),
            account=settings.account,
            tenant_id=settings.tenant_id,
            client_id=secret(deps.secrets, settings.client_id_env, self.kind),
            client_secret=secret(deps.secrets, settings.client_secret_env, self.kind),
            clock=self._timestamp,
        )
        self._reservations = Reservations(self._client)
        ttl = settings.catalog_ttl_seconds
        seconds = ttl if ttl is not None else deps.catalog_ttl.total_seconds()
        self._catalogs: TTLCache[Catalog] = TTLCache(seconds, clock=self._timestamp)
        self._languages = settings.languages()
        self._birth_date_required = settings.birth_date_required

    def __repr__(self) -> str:
        return f"<QmaticProvider business={self.deps.business_slug!r}>"

    def _timestamp(self) -> float:
        return self.deps.clock().timestamp()

    def language(self, selection: Selection) -> str:
        """The ``Accept-Language`` sent for ``selection`` (see :func:`api.accept_language`)."""
        return api.accept_language(selection.language, self._languages)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # -- catalog -----------------------------------------------------------------------------

    async def _catalog(self, selection: Selection) -> Catalog:
        language = self.language(selection)

        async def load() -> Catalog:
            # Independent reads, issued together.
            services, groups = await asyncio.gather(
                self._read(api.SERVICES, language), self._groups(language)
            )
            try:
                offerings = parse_offerings(services)
                parsed_groups, descriptions = parse_groups(groups)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise shape_error(exc) from None
            return Catalog(offerings, parsed_groups, descriptions)

        return await self._catalogs.get(language, load)

    async def _groups(self, language: str) -> Any:
        try:
            return await self._read(api.SERVICE_GROUPS, language)
        except NotFound:  # GUESS (see api.py): 404 when the tenant configured no groups
            return None

    async def _read(self, path: str, language: str, params: Mapping[str, str] | None = None) -> Any:
        answer = await self._client.send(
            "GET", path, Operation.READ, language=language, idempotent=True, params=params
        )
        return answer.body

    async def _offering(self, selection: Selection) -> Offering:
        catalog = await self._catalog(selection)
        service_id, branch_id = selection.one("service"), selection.one("branch")
        offering = catalog.offering(service_id, branch_id) if service_id and branch_id else None
        if offering is None:
            raise NotFound(N_("This service is no longer offered at this branch."))
        return offering

    # -- the flow ----------------------------------------------------------------------------

    async def flow(self, selection: Selection) -> Sequence[Step]:
        catalog = await self._catalog(selection)
        bookable = catalog.bookable()
        steps: list[Step] = []
        if catalog.groups_in_use():
            steps.append(Step("choose", "service_group", prompt=ASK_CATEGORY))
        steps += [
            Step("choose", "service", prompt=ASK_SERVICE),
            Step("choose", "branch", prompt=ASK_LOCATION),
        ]
        if any(o.resource_required for o in bookable):
            steps.append(Step("choose", "resource", prompt=ASK_RESOURCE))
        if any(o.max_reservations > 1 for o in bookable):
            steps.append(Step("choose", "party_size", prompt=ASK_PARTY_SIZE))
        steps += [Step("date"), Step("slot")]
        if any(o.questions for o in bookable):
            steps.append(Step("questions"))
        steps += [Step("customer"), Step("confirm")]
        return steps

    async def options(self, step_key: str, selection: Selection) -> Sequence[Option]:
        catalog = await self._catalog(selection)
        if step_key == "service_group":
            return catalog.group_options()
        if step_key == "service":
            return catalog.service_options(selection.one("service_group"))
        if step_key == "branch":
            return catalog.branch_options(selection.one("service"))
        if step_key == "resource":
            offering = await self._offering(selection)
            if not offering.resource_required:
                return [Option(ANY_OPTION, "No preference")]
            return [Option(r.id, r.name) for r in offering.resources]
        if step_key == "party_size":
            offering = await self._offering(selection)
            return [Option(str(n), str(n)) for n in range(1, offering.max_reservations + 1)]
        raise NotFound(f"no step {step_key!r} in a Qmatic booking")

    # -- availability --------------------------------------------------------------------------

    def _party_size(self, selection: Selection, offering: Offering) -> int:
        chosen = selection.one("party_size")
        size = int(chosen) if chosen and chosen.isdigit() else 1
        return min(max(size, 1), offering.max_reservations)

    def _resource_id(self, selection: Selection, offering: Offering) -> str | None:
        return selection.one("resource") if offering.resource_required else None

    async def _timeslots(self, selection: Selection, first: date, last: date) -> list[Slot]:
        offering = await self._offering(selection)
        resource_id = self._resource_id(selection, offering)
        body = await self._read(
            api.timeslots_path(offering.service_id),
            self.language(selection),
            api.timeslot_query(
                offering.branch_id,
                self._party_size(selection, offering),
                resource_id,
                first,
                last,
            ),
        )
        resource_name = next((r.name for r in offering.resources if r.id == resource_id), None)
        tz, now, zone = self.deps.timezone, self.deps.clock(), self._zone(offering)
        found: list[Slot] = []
        try:
            for item in api.timeslot_items(body):
                start = api.parse_time(item["startTime"], zone)
                end = api.parse_time(item["endTime"], zone)
                # The platform may ignore the date window (a guess): filter here as well.
                if start <= now or not first <= start.astimezone(tz).date() <= last:
                    continue
                slot_id = api.slot_id(str(item["startTime"]), str(item["endTime"]))
                found.append(Slot(slot_id, start, end, resource_id, resource_name))
        except (KeyError, TypeError, ValueError) as exc:
            raise shape_error(exc) from None
        found.sort(key=lambda s: s.start)
        return found

    def _zone(self, offering: Offering) -> ZoneInfo:
        """Where a time without an offset is read: the branch's zone, else the business's."""
        return offering.zone or self.deps.timezone

    async def available_days(self, selection: Selection, first: date, last: date) -> set[date]:
        # One timeslots request for the whole window, never one per day.
        tz = self.deps.timezone
        found = await self._timeslots(selection, first, last)
        return {s.start.astimezone(tz).date() for s in found}

    async def slots(self, selection: Selection, day: date) -> Sequence[Slot]:
        return await self._timeslots(selection, day, day)

    # -- questions and customer ----------------------------------------------------------------

    async def questions(self, selection: Selection) -> Sequence[Question]:
        return (await self._offering(selection)).questions

    async def customer_form(self, selection: Selection) -> CustomerForm:
        """Names and email (a birth date when the tenant wants one), the phone if given. The
        external customer identifier is never asked: it is ours (see the module docstring)."""
        required = {CustomerField.FIRST_NAME, CustomerField.LAST_NAME, CustomerField.EMAIL}
        if self._birth_date_required:
            required.add(CustomerField.BIRTH_DATE)
        return CustomerForm(required=frozenset(required), optional=frozenset({CustomerField.PHONE}))

    # -- holds and booking ---------------------------------------------------------------------

    async def _reserve(self, selection: Selection, offering: Offering, slot: Slot) -> str:
        resource_id = slot.resource_id or self._resource_id(selection, offering)
        party_size = self._party_size(selection, offering)
        language = self.language(selection)
        return await self._reservations.reserve(offering, slot, resource_id, party_size, language)

    async def hold(self, selection: Selection, slot: Slot) -> HoldValue:
        offering = await self._offering(selection)
        reservation_id = await self._reserve(selection, offering, slot)
        expires_at = self.deps.clock() + timedelta(minutes=api.HOLD_MINUTES)
        return HoldValue(id=reservation_id, slot=slot, expires_at=expires_at)

    async def release(self, hold: HoldValue) -> None:
        await self._reservations.release(hold.id, self._languages[0])

    async def book(
        self,
        selection: Selection,
        slot: Slot,
        customer: CustomerDetails,
        *,
        answers: Mapping[str, str] | None = None,
        hold: HoldValue | None = None,
    ) -> Booking:
        offering = await self._offering(selection)
        language = self.language(selection)
        try:
            information = rules.information_answers(offering.questions, answers or {})
        except BookingRefused:
            if hold is not None:  # screening refused: the slot goes back at once
                await self._reservations.release(hold.id, language)
            raise
        rules.check_customer(customer, birth_date_required=self._birth_date_required)
        identifier = api.customer_identifier(customer)
        body = api.confirm_body(
            personal_id=identifier,
            first_name=customer.first_name.strip(),
            last_name=customer.last_name.strip(),
            email=customer.email or "",
            phone=customer.phone,
            birth_date=customer.birth_date,
            information_answers=information,
        )
        if hold is not None:
            try:
                appointment = await self._reservations.confirm(hold.id, body, language)
            except HoldExpired:
                # The 15 minutes ran out: take the same slot again if nobody else has.
                log.info("qmatic: hold expired before confirmation, reserving the slot again")
                try:
                    reservation_id = await self._reserve(selection, offering, slot)
                except SlotTaken:
                    raise SlotTaken(detail="the held time expired and was taken") from None
                appointment = await self._reservations.confirm_own(reservation_id, body, language)
        else:
            reservation_id = await self._reserve(selection, offering, slot)
            appointment = await self._reservations.confirm_own(reservation_id, body, language)
        return await self._reservations.confirmed_booking(
            appointment, slot, offering, identifier, language=language, zone=self._zone(offering)
        )

    async def cancel(self, booking_ref: str, selection: Selection) -> None:
        await self._client.send(
            "DELETE",
            api.appointment_path(booking_ref),
            Operation.CANCEL,
            language=self.language(selection),
            # Not repeated: after a lost answer a repeat would say "not found" for a success.
            idempotent=False,
        )

    async def still_booked(
        self, booking_ref: str, selection: Selection, customer_ref: str | None = None
    ) -> bool | None:
        """Qmatic finds appointments only by the customer's identifier: without one, no lookup."""
        if not customer_ref:
            return None
        found = await self.find_appointments(customer_ref, selection)
        return any(b.ref == booking_ref for b in found)

    async def reschedule(self, booking_ref: str, selection: Selection, slot: Slot) -> Booking:
        """Reserve ``slot`` of the selection's service, then move the appointment onto it.

        Qmatic never changes an appointment's service: a selection naming another service is
        refused by the platform (:class:`BookingRefused` ``service_cannot_change``).
        """
        offering = await self._offering(selection)
        language = self.language(selection)
        reservation_id = await self._reserve(selection, offering, slot)
        try:
            answer = await self._client.send(
                "PUT",
                api.reschedule_path(booking_ref),
                Operation.RESCHEDULE,
                language=language,
                idempotent=False,
                json_body=api.reschedule_body(reservation_id),
            )
        except ProviderUnavailable:
            raise
        except ProviderError:
            await self._reservations.release(reservation_id, language)
            raise
        moved = {"appointmentId": api.rescheduled_id(answer.body, booking_ref)}
        return booking_of(moved, slot, offering, None)

    # -- beyond the shared interface -----------------------------------------------------------

    async def update_customer(
        self, booking_ref: str, customer: CustomerDetails, selection: Selection
    ) -> None:
        """Change the customer details of a confirmed appointment (``PUT .../customer``)."""
        rules.check_names(customer)
        await self._client.send(
            "PUT",
            api.appointment_customer_path(booking_ref),
            Operation.UPDATE_CUSTOMER,
            language=self.language(selection),
            idempotent=True,  # setting the same details twice is harmless
            json_body=api.customer_update_body(
                first_name=customer.first_name.strip(),
                last_name=customer.last_name.strip(),
                email=customer.email,
                phone=customer.phone,
                birth_date=customer.birth_date,
            ),
        )

    async def find_appointments(self, customer_ref: str, selection: Selection) -> list[Booking]:
        """The appointments booked under ``customer_ref`` (earliest first): the identifier a
        booking returned and the fiche keeps, never one a user typed."""
        if not api.IDENTIFIER_RE.fullmatch(customer_ref):
            return []
        answer = await self._client.send(
            "POST",
            api.APPOINTMENTS_SEARCH,
            Operation.SEARCH,
            language=self.language(selection),
            idempotent=True,  # a search changes nothing
            json_body=api.search_body(customer_ref),
        )
        catalog = await self._catalog(selection)
        zones = {o.branch_id: o.zone for o in catalog.offerings if o.zone is not None}
        try:
            found = api.found_bookings(answer.body, self.deps.timezone, customer_ref, zones)
        except (KeyError, TypeError, ValueError) as exc:
            raise shape_error(exc) from None
        return sorted(found, key=lambda b: b.start)

    def customer_reference(self, customer: CustomerDetails) -> str | None:
        """The identifier :meth:`book` files ``customer`` under (the fiche's, else a new one)."""
        return api.customer_identifier(customer)

    async def find_booking(
        self, selection: Selection, slot: Slot, customer: CustomerDetails
    ) -> Booking | None:
        """The customer's appointment starting at the slot's time, found with the appointment
        search by the identifier the booking was sent with (``customer.provider_ref``, fixed
        before the call: :meth:`customer_reference`). Without one (a reschedule of a booking
        whose identifier we do not have) nothing can be looked up: :class:`ProviderError`."""
        if not customer.provider_ref:
            raise ProviderError("no customer identifier to look the appointment up with")
        for booking in await self.find_appointments(customer.provider_ref, selection):
            if booking.start == slot.start:
                return booking
        return None
