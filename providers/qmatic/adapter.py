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

Beyond :class:`~providers.base.BookingProvider`, the adapter offers
:meth:`~QmaticProvider.update_customer` and :meth:`~QmaticProvider.find_appointments`.

Settings: :class:`~providers.qmatic.settings.QmaticSettings`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

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
    FieldRule,
    HoldExpired,
    InvalidCustomerData,
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
    platform_text,
)
from providers.base import Hold as HoldValue
from providers.http import TTLCache
from providers.qmatic import api
from providers.qmatic.catalog import Catalog, Group, Offering, parse_groups, parse_offerings
from providers.qmatic.client import QmaticClient
from providers.qmatic.errors import Operation, shape_error
from providers.qmatic.settings import QmaticSettings
from providers.settings import secret

log = logging.getLogger(__name__)

PERSONAL_ID_RE = re.compile(r"[A-Za-z0-9]{10,48}")
#: How the engine asks for Qmatic's personal identifier and checks what the customer types.
PERSONAL_ID_RULE = FieldRule(
    prompt=N_("Please type the personal identifier (10 to 48 letters and digits)."),
    pattern=PERSONAL_ID_RE.pattern,
    invalid=N_("The personal identifier has 10 to 48 letters and digits, no spaces."),
)
NAME_MAX = 255
#: Shown to the user when a detail breaks Qmatic's documented rules (checked before sending).
PERSONAL_ID_REFUSED = N_("The personal identifier must be 10 to 48 letters or digits.")
NAME_REFUSED = N_("A name of 1 to 255 characters is needed.")


class QmaticProvider(BookingProvider):
    """Books Qmatic Cloud Appointments through the "external/v1" REST API."""

    kind = "qmatic"
    supports_holds = True
    supports_reschedule = True

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
        except NotFound:  # the endpoint only exists when the tenant configured groups
            return None

    async def _read(self, path: str, language: str, params: Mapping[str, str] | None = None) -> Any:
        return await self._client.call(
            "GET", path, Operation.READ, language=language, idempotent=True, params=params
        )

    def _groups_in_use(self, catalog: Catalog) -> list[Group]:
        bookable = {o.service_id for o in catalog.bookable()}
        return [g for g in catalog.groups if g.service_ids & bookable]

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
        if self._groups_in_use(catalog):
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
            options = [Option(g.id, g.name) for g in self._groups_in_use(catalog)]
            grouped = catalog.grouped_service_ids()
            if any(o.service_id not in grouped for o in catalog.bookable()):
                # Services outside every group stay reachable through "no preference".
                options.append(Option(ANY_OPTION, "All services"))
            return options
        if step_key == "service":
            group_id = selection.one("service_group")
            wanted = next((g.service_ids for g in catalog.groups if g.id == group_id), None)
            seen: dict[str, Option] = {}
            for o in catalog.bookable():
                if o.service_id in seen or (wanted is not None and o.service_id not in wanted):
                    continue
                description = catalog.descriptions.get(o.service_id)
                seen[o.service_id] = Option(o.service_id, o.service_name, description=description)
            return list(seen.values())
        if step_key == "branch":
            service_id = selection.one("service")
            return [
                Option(o.branch_id, o.branch_name, description=o.branch_address or None)
                for o in catalog.bookable()
                if o.service_id == service_id
            ]
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
        tz, now = self.deps.timezone, self.deps.clock()
        found: list[Slot] = []
        try:
            for item in api.timeslot_items(body):
                start = api.parse_time(item["startTime"], tz)
                end = api.parse_time(item["endTime"], tz)
                # The platform may ignore the date window (a guess): filter here as well.
                if start <= now or not first <= start.astimezone(tz).date() <= last:
                    continue
                slot_id = _slot_id(str(item["startTime"]), str(item["endTime"]))
                found.append(Slot(slot_id, start, end, resource_id, resource_name))
        except (KeyError, TypeError, ValueError) as exc:
            raise shape_error(exc) from None
        found.sort(key=lambda s: s.start)
        return found

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
        required = {
            CustomerField.PERSONAL_ID,
            CustomerField.FIRST_NAME,
            CustomerField.LAST_NAME,
            CustomerField.EMAIL,
        }
        if self._birth_date_required:
            required.add(CustomerField.BIRTH_DATE)
        return CustomerForm(
            required=frozenset(required),
            optional=frozenset({CustomerField.PHONE}),
            rules={CustomerField.PERSONAL_ID: PERSONAL_ID_RULE},
        )

    def _check_customer(self, customer: CustomerDetails) -> None:
        """Refuse what Qmatic documents it refuses before anything is sent or reserved."""
        if not PERSONAL_ID_RE.fullmatch(customer.personal_id or ""):
            raise InvalidCustomerData(CustomerField.PERSONAL_ID, PERSONAL_ID_REFUSED)
        for field, value in (
            (CustomerField.FIRST_NAME, customer.first_name),
            (CustomerField.LAST_NAME, customer.last_name),
        ):
            if not value.strip() or len(value) > NAME_MAX:
                raise InvalidCustomerData(field, NAME_REFUSED)
        if not customer.email or len(customer.email) > NAME_MAX or "@" not in customer.email:
            raise InvalidCustomerData(CustomerField.EMAIL, N_("A valid email address is needed."))
        if self._birth_date_required and customer.birth_date is None:
            raise InvalidCustomerData(CustomerField.BIRTH_DATE, N_("A date of birth is needed."))

    @staticmethod
    def _information_answers(
        offering: Offering, answers: Mapping[str, str]
    ) -> list[tuple[str, str]]:
        """Check the answers against the questions; the information answers to send."""
        sent: list[tuple[str, str]] = []
        for q in offering.questions:
            answer = (answers.get(q.id) or "").strip()
            if q.kind == "screening":
                if q.required_answer is not None and (answer.lower() == "yes") != q.required_answer:
                    raise BookingRefused("screening_denied", platform_text(q.denied_message))
                continue
            if q.required and not answer:
                raise BookingRefused(
                    "question_unanswered",
                    N_("Please answer every question before booking."),
                    detail=q.text,
                )
            if len(answer) > q.max_length:
                raise BookingRefused(
                    "answer_too_long", N_("One of your answers is too long."), detail=q.text
                )
            if answer:
                sent.append((q.text, answer))
        return sent

    # -- holds and booking ---------------------------------------------------------------------

    async def _reserve(self, selection: Selection, offering: Offering, slot: Slot) -> str:
        start, end = _slot_times(slot)
        body = await self._client.call(
            "POST",
            api.RESERVATIONS,
            Operation.RESERVE,
            language=self.language(selection),
            idempotent=False,
            json_body=api.reservation_body(
                offering.service_id,
                offering.branch_id,
                slot.resource_id or self._resource_id(selection, offering),
                start,
                end,
                self._party_size(selection, offering),
            ),
        )
        try:
            return api.reservation_id(body)
        except ValueError as exc:
            raise shape_error(exc) from None

    async def _release(self, reservation_id: str, language: str) -> None:
        try:
            await self._client.call(
                "DELETE",
                api.reservation_path(reservation_id),
                Operation.RELEASE,
                language=language,
                idempotent=True,  # releasing twice is harmless
            )
        except NotFound:
            pass  # already expired or released: what we wanted
        except ProviderError as exc:
            # The platform frees the slot itself after 15 minutes; a failed release must not
            # turn the user's "back" or "cancel" into an error.
            log.warning("qmatic: could not release a reservation: %s", type(exc).__name__)

    async def hold(self, selection: Selection, slot: Slot) -> HoldValue:
        offering = await self._offering(selection)
        reservation_id = await self._reserve(selection, offering, slot)
        expires_at = self.deps.clock() + timedelta(minutes=api.HOLD_MINUTES)
        return HoldValue(id=reservation_id, slot=slot, expires_at=expires_at)

    async def release(self, hold: HoldValue) -> None:
        await self._release(hold.id, self._languages[0])

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
            information = self._information_answers(offering, answers or {})
        except BookingRefused:
            if hold is not None:  # screening refused: the slot goes back at once
                await self._release(hold.id, language)
            raise
        self._check_customer(customer)
        body = api.confirm_body(
            personal_id=customer.personal_id or "",
            first_name=customer.first_name.strip(),
            last_name=customer.last_name.strip(),
            email=customer.email or "",
            phone=customer.phone,
            birth_date=customer.birth_date,
            information_answers=information,
        )
        if hold is not None:
            try:
                appointment = await self._confirm(hold.id, body, language)
            except HoldExpired:
                # The 15 minutes ran out: take the same slot again if nobody else has.
                log.info("qmatic: hold expired before confirmation, reserving the slot again")
                try:
                    reservation_id = await self._reserve(selection, offering, slot)
                except SlotTaken:
                    raise SlotTaken(detail="the held time expired and was taken") from None
                appointment = await self._confirm_own(reservation_id, body, language)
        else:
            reservation_id = await self._reserve(selection, offering, slot)
            appointment = await self._confirm_own(reservation_id, body, language)
        return self._booking(appointment, slot, offering, customer.personal_id)

    async def _confirm(self, reservation_id: str, body: Mapping[str, Any], language: str) -> Any:
        return await self._client.call(
            "PUT",
            api.reservation_path(reservation_id),
            Operation.CONFIRM,
            language=language,
            idempotent=False,  # never repeated: the engine decides
            json_body=body,
        )

    async def _confirm_own(
        self, reservation_id: str, body: Mapping[str, Any], language: str
    ) -> Any:
        """Confirm a reservation made inside this call; release it when the platform surely
        refused (after a timeout it may have booked, so it is left to expire instead)."""
        try:
            return await self._confirm(reservation_id, body, language)
        except ProviderUnavailable:
            raise
        except ProviderError:
            await self._release(reservation_id, language)
            raise

    def _booking(
        self, appointment: Any, slot: Slot, offering: Offering, personal_id: str | None
    ) -> Booking:
        ref = None
        if isinstance(appointment, Mapping):
            ref = appointment.get("appointmentId") or appointment.get("id")
        if not ref:
            raise ProviderUnavailable("the booking platform confirmed without an appointment id")
        return Booking(
            ref=str(ref),
            start=slot.start,
            end=slot.end,
            service_name=offering.service_name,
            resource_name=slot.resource_name,
            customer_ref=personal_id,
        )

    async def cancel(self, booking_ref: str, selection: Selection) -> None:
        await self._client.call(
            "DELETE",
            api.appointment_path(booking_ref),
            Operation.CANCEL,
            language=self.language(selection),
            # Not repeated: after a lost answer a repeat would say "not found" for a success.
            idempotent=False,
        )

    async def reschedule(self, booking_ref: str, selection: Selection, slot: Slot) -> Booking:
        """Reserve ``slot`` of the selection's service, then move the appointment onto it.

        Qmatic never changes an appointment's service: a selection naming another service is
        refused by the platform (:class:`BookingRefused` ``service_cannot_change``).
        """
        offering = await self._offering(selection)
        language = self.language(selection)
        reservation_id = await self._reserve(selection, offering, slot)
        try:
            body = await self._client.call(
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
            await self._release(reservation_id, language)
            raise
        if not isinstance(body, Mapping) or not (body.get("appointmentId") or body.get("id")):
            body = {"appointmentId": booking_ref}  # moved in place: the id stays
        return self._booking(body, slot, offering, None)

    # -- beyond the shared interface -----------------------------------------------------------

    async def update_customer(
        self, booking_ref: str, customer: CustomerDetails, selection: Selection
    ) -> None:
        """Change the customer details of a confirmed appointment (``PUT .../customer``)."""
        for field, value in (
            (CustomerField.FIRST_NAME, customer.first_name),
            (CustomerField.LAST_NAME, customer.last_name),
        ):
            if not value.strip() or len(value) > NAME_MAX:
                raise InvalidCustomerData(field, NAME_REFUSED)
        await self._client.call(
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

    async def find_appointments(self, personal_id: str, selection: Selection) -> list[Booking]:
        """The customer's appointments, found by their personal identifier (earliest first)."""
        if not PERSONAL_ID_RE.fullmatch(personal_id):
            raise InvalidCustomerData(CustomerField.PERSONAL_ID, PERSONAL_ID_REFUSED)
        body = await self._client.call(
            "POST",
            api.APPOINTMENTS_SEARCH,
            Operation.SEARCH,
            language=self.language(selection),
            idempotent=True,  # a search changes nothing
            json_body=api.search_body(personal_id),
        )
        tz = self.deps.timezone
        found: list[Booking] = []
        try:
            for item in api.appointment_items(body):
                times = item["timeSlot"]
                found.append(
                    Booking(
                        ref=str(item["appointmentId"]),
                        start=api.parse_time(times["startTime"], tz),
                        end=api.parse_time(times["endTime"], tz),
                        service_name=str((item.get("service") or {}).get("name") or ""),
                        customer_ref=personal_id,
                    )
                )
        except (KeyError, TypeError, ValueError) as exc:
            raise shape_error(exc) from None
        return sorted(found, key=lambda b: b.start)


# -- slot ids ---------------------------------------------------------------------


def _slot_id(start: str, end: str) -> str:
    # The platform's own strings travel back in the reservation, unchanged.
    return f"{start}|{end}"


def _slot_times(slot: Slot) -> tuple[str, str]:
    start, sep, end = slot.id.partition("|")
    if not sep:  # a slot not made by this adapter: send its times
        return slot.start.isoformat(), slot.end.isoformat()
    return start, end
