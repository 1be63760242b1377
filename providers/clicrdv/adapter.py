"""The ClicRDV booking provider: the group's own settings decide the booking flow.

ClicRDV asks every booking interface to follow the group's settings (seed 004): whether the
customer picks a service or a calendar first (``calendarChoice``), whether services are grouped
in categories (interventionsets), whether "any calendar" is offered (``anyCalendar``), whether
lengths and prices are shown, how many services one appointment may hold (``max_multirdvs``),
and whether the group takes bookings at all (``inactive``, ``open``). :meth:`ClicrdvProvider.flow`
reads them (cached) and builds the step list accordingly.

Settings: :class:`~providers.clicrdv.settings.ClicrdvSettings`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from providers.base import (
    ANY_OPTION,
    ASK_CATEGORY,
    ASK_RESOURCE,
    ASK_SERVICE,
    Account,
    AuthFailed,
    Booking,
    BookingProvider,
    CustomerDetails,
    CustomerField,
    CustomerForm,
    Fiche,
    Hold,
    Money,
    NotBookable,
    NotFound,
    Option,
    ProviderDeps,
    ProviderUnavailable,
    Selection,
    Slot,
    Step,
)
from providers.clicrdv import api, guesses
from providers.clicrdv.catalog import GroupCatalog
from providers.clicrdv.client import ClicrdvClient
from providers.clicrdv.settings import ClicrdvSettings
from providers.http import RetryPolicy, settle
from providers.settings import secret

Record = Mapping[str, Any]

_NO_PREFERENCE = {"fr": "Pas de préférence", "de": "Egal", "nl": "Geen voorkeur"}


class ClicrdvProvider(BookingProvider):
    """ClicRDV REST API v1 for one group."""

    kind: ClassVar[str] = "clicrdv"
    supports_sign_in: ClassVar[bool] = True
    #: only for a signed-in account, whose session lives in this process's memory: after a
    #: restart (or for a customer who did not sign in) the lookup cannot be made and a lost
    #: answer stays "unknown" (ClicRDV's public booking answers no search by customer)
    supports_lookup: ClassVar[bool] = True

    def __init__(self, deps: ProviderDeps, *, retry: RetryPolicy | None = None) -> None:
        super().__init__(deps)
        settings = ClicrdvSettings.model_validate(dict(deps.settings))
        self.group_id = settings.group_id
        api_key = secret(deps.secrets, settings.api_key_env, self.kind)
        ttl = settings.catalog_ttl_seconds
        if ttl is None:
            ttl = deps.catalog_ttl.total_seconds()
        self.currency = settings.currency
        self._owns_http = deps.http is None
        http = deps.http if deps.http is not None else httpx.AsyncClient(timeout=15.0)
        self._client = ClicrdvClient(
            http,
            base_url=settings.root_url(),
            api_key=api_key,
            group_id=self.group_id,
            retry=retry or RetryPolicy(),
        )
        self._catalog = GroupCatalog(self._client, self.group_id, ttl)

    def __repr__(self) -> str:
        return f"<ClicrdvProvider business={self.deps.business_slug} group={self.group_id}>"

    async def aclose(self) -> None:
        if self._owns_http:
            await self._client.aclose()

    # -- catalog (cached) -----------------------------------------------------------------------
    async def group(self) -> api.GroupSettings:
        """The group's settings (cached for the catalog TTL)."""
        return await self._catalog.group()

    # -- the flow -------------------------------------------------------------------------------
    async def flow(self, selection: Selection) -> Sequence[Step]:
        # The services are read with the settings (not after): the next step needs them anyway,
        # and reading them concurrently saves a round trip on a cold cache.
        group, sets, _ = await settle(
            self.group(),
            self._catalog.interventionsets(),
            self._catalog.interventions(),
        )
        # Diagnostics only: the engine's own (translated) "cannot be booked online" says it.
        if group.inactive:
            raise NotBookable(detail=f"{group.name or 'the group'} is not active on ClicRDV")
        if not group.open:
            raise NotBookable(
                detail=f"{group.name or 'the group'} is not taking online appointments right now"
            )
        steps: list[Step] = []
        if sets:
            steps.append(Step("choose", "category", prompt=ASK_CATEGORY))
        service = Step("choose", "service", max_picks=group.max_multirdvs, prompt=ASK_SERVICE)
        calendar = Step("choose", "calendar", prompt=ASK_RESOURCE)
        steps.extend([service, calendar] if group.service_first else [calendar, service])
        steps.extend(
            [Step("date"), Step("slot"), Step("sign_in"), Step("customer"), Step("confirm")]
        )
        return steps

    async def options(self, step_key: str, selection: Selection) -> Sequence[Option]:
        if step_key == "category":
            return [
                Option(id=str(s["id"]), label=guesses.intervention_label(s))
                for s in await self._catalog.interventionsets()
            ]
        if step_key == "service":
            return await self._service_options(selection)
        if step_key == "calendar":
            group = await self.group()
            calendars = await self._catalog.calendars_for(selection)
            options = [Option(id=str(c["id"]), label=guesses.calendar_label(c)) for c in calendars]
            if group.any_calendar and options:
                label = _NO_PREFERENCE.get(selection.language[:2], "No preference")
                options.insert(0, Option(id=ANY_OPTION, label=label))
            return options
        raise NotFound(f"ClicRDV has no step {step_key!r}")

    async def _service_options(self, selection: Selection) -> list[Option]:
        group, interventions = await settle(self.group(), self._catalog.interventions())
        category = selection.one("category")
        if category is not None:
            interventions = [i for i in interventions if guesses.intervention_set(i) == category]
        calendar = selection.one("calendar")
        if calendar is not None and calendar != ANY_OPTION and not group.service_first:
            offered = await self._calendar_services(calendar)
            interventions = [i for i in interventions if str(i["id"]) in offered]
        options = []
        for record in interventions:
            price = guesses.intervention_price(record) if group.display_price else None
            options.append(
                Option(
                    id=str(record["id"]),
                    label=guesses.intervention_label(record),
                    duration_minutes=(
                        guesses.intervention_length(record) if group.display_length else None
                    ),
                    price=Money(price, self.currency) if price is not None else None,
                    description=api.text_or_none(record.get("description")),
                )
            )
        return options

    async def _calendar_services(self, calendar_id: str) -> set[str]:
        """Ids of the services ``calendar_id`` offers, read the documented way (``interventions``
        filtered by ``calendar_ids[]``, cached like the rest of the catalog)."""
        return {str(r["id"]) for r in await self._catalog.interventions_of(calendar_id)}

    # -- availability ---------------------------------------------------------------------------
    async def _timeslots(
        self, selection: Selection, first: date, last: date
    ) -> list[tuple[datetime, list[str]]]:
        """Free start times (naive, group local time) with their calendars, first..last."""
        services = selection.many("service")
        if not services:
            raise NotFound("no service chosen")
        calendar = selection.one("calendar") or ""
        chunks: list[tuple[date, date]] = []
        start = first
        while start <= last:
            end = min(last, start + timedelta(days=guesses.MAX_AVAILABILITY_DAYS - 1))
            chunks.append((start, end))
            start = end + timedelta(days=1)

        async def fetch(chunk: tuple[date, date]) -> list[tuple[datetime, list[str]]]:
            params = [
                *(("intervention_ids[]", s) for s in services),
                ("calendar_id", calendar),
                ("start", api.format_datetime(datetime.combine(chunk[0], time.min))),
                ("end", api.format_datetime(datetime.combine(chunk[1], time(23, 59, 59)))),
            ]
            body = await self._client.get(api.availabletimeslots_path(self.group_id), params)
            found = api.mapping(body).get("availabletimeslots")
            if not isinstance(found, list):
                raise ProviderUnavailable("the platform answered an unexpected shape")
            out = []
            for entry in found:
                try:
                    when = api.parse_datetime(str(entry["start"]))
                except (KeyError, TypeError, ValueError):
                    raise ProviderUnavailable("the platform answered a bad time") from None
                ids = entry.get("calendar_ids") or ([calendar] if calendar else [])
                out.append((when, [str(i) for i in ids]))
            return out

        parts = await settle(*(fetch(c) for c in chunks))
        return [item for part in parts for item in part]

    async def available_days(self, selection: Selection, first: date, last: date) -> set[date]:
        now = self.deps.clock().astimezone(self.deps.timezone).replace(tzinfo=None)
        found = await self._timeslots(selection, first, last)
        return {when.date() for when, _ in found if when > now and first <= when.date() <= last}

    async def slots(self, selection: Selection, day: date) -> Sequence[Slot]:
        found, length = await settle(self._timeslots(selection, day, day), self._length(selection))
        calendar = selection.one("calendar")
        name = await self._calendar_name(selection, calendar) if calendar else None
        tz = self.deps.timezone
        now = self.deps.clock()
        slots: dict[datetime, Slot] = {}
        for when, _calendars in found:
            start = when.replace(tzinfo=tz)
            if when.date() != day or start <= now:
                continue
            slots[start] = Slot(
                id=f"{api.format_datetime(when)}|{calendar or ''}",
                start=start,
                end=start + timedelta(minutes=length),
                resource_id=calendar,
                resource_name=name,
            )
        return [slots[k] for k in sorted(slots)]

    async def _length(self, selection: Selection) -> int:
        chosen = set(selection.many("service"))
        records = [i for i in await self._catalog.interventions() if str(i["id"]) in chosen]
        lengths = [
            guesses.intervention_length(r) or guesses.DEFAULT_LENGTH_MINUTES for r in records
        ]
        return sum(lengths) or guesses.DEFAULT_LENGTH_MINUTES

    async def _calendar_name(self, selection: Selection, calendar_id: str) -> str | None:
        for record in await self._catalog.calendars_for(selection):
            if str(record.get("id")) == calendar_id:
                return guesses.calendar_label(record)
        return None

    # -- accounts -------------------------------------------------------------------------------
    async def sign_in(self, selection: Selection, email: str, password: str) -> Account:
        account = await self._client.login(selection.user_key, email, password)
        del password
        return api.account_of(account, email)

    async def sign_up(
        self,
        selection: Selection,
        email: str,
        *,
        details: Mapping[str, str] | None = None,
        password: str | None = None,
    ) -> Account:
        # ClicRDV has no registration form: it creates the account and mails a password.
        body = await self._client.post(
            api.ACCOUNTS_PATH,
            {"account": {"email": email, "group_id": api.id_value(self.group_id)}},
            context="account",
        )
        record = api.mapping(body)
        return api.account_of(record.get("account", record), email)

    def sign_out(self, selection: Selection) -> None:
        """Forget the user's session (memory only)."""
        self._client.forget_session(selection.user_key)

    async def fiches(self, selection: Selection) -> Sequence[Fiche]:
        if not self._client.has_session(selection.user_key):
            return ()
        found = await self._signed_in_records(api.fiches_path(self.group_id), selection)
        return [api.fiche_of(record) for record in found]

    async def _signed_in_records(self, path: str, selection: Selection) -> list[Mapping[str, Any]]:
        """Every record of a list the signed-in account reads at ``path``.

        Without a live session ClicRDV answers an empty list, not 401, so the session is read
        back beside the list (concurrently: no extra wait) and an ended one raises AuthFailed.
        """
        _, body = await settle(
            self._client.verify_session(selection.user_key),
            self._client.get(
                path, [*api.ALL_RESULTS.items()], context="session", user_key=selection.user_key
            ),
        )
        try:
            return api.records(body)
        except ValueError:
            raise ProviderUnavailable("the platform answered an unexpected shape") from None

    async def customer_form(self, selection: Selection) -> CustomerForm:
        """The default details (name, phone, email), and a birth date when the customer wants."""
        form = await super().customer_form(selection)
        return CustomerForm(required=form.required, optional=frozenset({CustomerField.BIRTH_DATE}))

    # -- booking --------------------------------------------------------------------------------
    async def book(
        self,
        selection: Selection,
        slot: Slot,
        customer: CustomerDetails,
        *,
        answers: Mapping[str, str] | None = None,
        hold: Hold | None = None,
    ) -> Booking:
        services = selection.many("service")
        if not services:
            raise NotFound("no service chosen")
        calendar = slot.resource_id or selection.one("calendar") or slot.id.partition("|")[2]
        local_start = slot.start.astimezone(self.deps.timezone).replace(tzinfo=None)
        appointment = api.appointment_body(self.group_id, services, calendar, local_start, customer)
        # A write without a live session would not be refused with 401 (see client.py): check.
        await self._client.verify_session(selection.user_key)
        body = await self._client.post(
            api.appointments_path(self.group_id),
            {"appointment": appointment},
            context="booking",
            user_key=selection.user_key,
        )
        try:
            record = guesses.appointment_record(body)
            ref = str(record["id"])
        except (KeyError, ValueError):
            # The appointment may exist: say so rather than pretend it failed cleanly.
            raise ProviderUnavailable(
                "the platform's answer could not be read; the appointment may have been made"
            ) from None
        interventions = await self._catalog.interventions()
        chosen = [i for i in interventions if str(i["id"]) in set(services)]
        return Booking(
            ref=ref,
            start=slot.start,
            end=slot.end,
            service_name=", ".join(guesses.intervention_label(i) for i in chosen),
            resource_name=slot.resource_name,
            price=await self._total_price(chosen),
            customer_ref=guesses.appointment_fiche_id(record) or customer.provider_ref,
        )

    async def _total_price(self, chosen: list[Record]) -> Money | None:
        if not (await self.group()).display_price or not chosen:
            return None
        prices = [guesses.intervention_price(i) for i in chosen]
        if any(p is None for p in prices):
            return None
        return Money(sum((p for p in prices if p is not None), Decimal(0)), self.currency)

    async def cancel(self, booking_ref: str, selection: Selection) -> None:
        # Without a live session the cancel would answer 404 and cancel nothing: check first.
        await self._client.verify_session(selection.user_key)
        await self._client.delete(
            guesses.appointment_path(self.group_id, booking_ref),
            context="session",
            user_key=selection.user_key,
        )

    async def still_booked(
        self, booking_ref: str, selection: Selection, customer_ref: str | None = None
    ) -> bool | None:
        """Whether the signed-in account's appointment list (with its session checked, so an
        empty list means empty) still holds ``booking_ref``."""
        return any(b.ref == booking_ref for b in await self.appointments(selection))

    async def appointments(self, selection: Selection) -> Sequence[Booking]:
        """The signed-in account's appointments in this group (guessed path, see guesses.py)."""
        path = guesses.account_appointments_path(self.group_id)
        found = await self._signed_in_records(path, selection)
        bookings = guesses.appointment_bookings(found, self.deps.timezone)
        return sorted(bookings, key=lambda b: b.start)

    async def find_booking(
        self, selection: Selection, slot: Slot, customer: CustomerDetails
    ) -> Booking | None:
        """The signed-in account's appointment starting at the slot's time. Without a session
        in this process nothing can be looked up: :class:`AuthFailed`."""
        if not self._client.has_session(selection.user_key):
            raise AuthFailed("no signed-in session to look the appointment up with")
        for booking in await self.appointments(selection):
            if booking.start == slot.start:
                return booking
        return None
