"""The bookingtime adapter: booking templates are the services.

Flow: ``choose service`` -> ``choose resource`` (only when some template offers a resource
choice) -> ``date`` -> ``slot`` -> ``customer`` -> ``confirm``.

``flow()`` is called before a service is chosen, so the resource step is declared as soon as
ANY template offers a resource choice; for a template without one, ``options("resource")``
returns only the "no preference" option (:data:`~providers.base.ANY_OPTION`), which the engine
can pick for the user.

Requests per booking with a warm cache: the month view costs one ``listMonth`` per displayed
month (concurrently when a view spans two), a tapped day one ``listDay``, the booking one
``appointment/add``. Templates are cached for ``catalog_ttl_seconds``; availability never is.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from providers.base import (
    ANY_OPTION,
    ASK_RESOURCE,
    ASK_SERVICE,
    N_,
    Booking,
    BookingProvider,
    BookingRefused,
    CustomerDetails,
    CustomerField,
    CustomerForm,
    Hold,
    InvalidCustomerData,
    NotFound,
    Option,
    ProviderDeps,
    ProviderUnavailable,
    Selection,
    Slot,
    Step,
)
from providers.bookingtime import api, records
from providers.bookingtime.client import DEFAULT_RETRY, BookingtimeClient
from providers.bookingtime.records import Template
from providers.bookingtime.settings import BookingtimeSettings
from providers.http import RetryPolicy, TTLCache
from providers.settings import secret

log = logging.getLogger(__name__)

#: Platform ids are 32 alphanumerics; anything else never reaches a URL path.
_ID = re.compile(r"[A-Za-z0-9]{1,64}")


class BookingtimeProvider(BookingProvider):
    """One bookingtime organization, reached through the Module API.

    Settings: :class:`~providers.bookingtime.settings.BookingtimeSettings`.
    """

    kind = "bookingtime"
    supports_reschedule = True
    #: No lookup (``supports_lookup`` stays false): the Module API shows an appointment by its
    #: id only, and a lost answer to a booking is exactly when we never got that id. Such a
    #: Confirm is settled as "unknown" and the user is told so, honestly.

    def __init__(
        self,
        deps: ProviderDeps,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(deps)
        settings = BookingtimeSettings.model_validate(dict(deps.settings))
        client_id = secret(deps.secrets, settings.client_id_env, self.kind)
        self._owns_http = deps.http is None
        self._http = deps.http or httpx.AsyncClient(timeout=httpx.Timeout(15.0))

        def clock() -> float:
            return deps.clock().timestamp()

        self._client = BookingtimeClient(
            self._http,
            organization_id=settings.organization_id,
            client_id=client_id,
            auth_url=settings.auth_url,
            api_url=settings.api_url,
            clock=clock,
            retry=retry,
            sleep=sleep,
        )
        ttl = settings.catalog_ttl_seconds
        seconds = ttl if ttl is not None else deps.catalog_ttl.total_seconds()
        self._catalog: TTLCache[dict[str, Template]] = TTLCache(seconds, clock=clock)
        self._emails = settings.email_flags()
        #: Details a template's refusals asked for beyond its flags (memory only): the form
        #: asks them from then on, so a refusal naming one is never a dead end.
        self._demanded: dict[str, set[CustomerField]] = {}

    def __repr__(self) -> str:
        return f"<BookingtimeProvider business={self.deps.business_slug!r}>"

    @property
    def client(self) -> BookingtimeClient:
        """The authenticated HTTP client (exposes renewal counters, never a token)."""
        return self._client

    # -- catalog ------------------------------------------------------------------------------

    async def _templates(self, selection: Selection) -> dict[str, Template]:
        locale = api.locale_for(selection.language)
        return await self._catalog.get(locale, lambda: self._load_templates(locale))

    async def _load_templates(self, locale: str) -> dict[str, Template]:
        content = await self._client.call("GET", locale, api.template_list_path(), operation="read")
        try:
            templates = [records.parse_template(r) for r in records.list_records(content)]
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderUnavailable("the platform answered with malformed templates") from exc
        return {t.id: t for t in templates if _ID.fullmatch(t.id)}

    async def _template(self, selection: Selection) -> Template:
        template_id = selection.one("service")
        if template_id is None:
            raise NotFound("no service chosen")
        template = (await self._templates(selection)).get(template_id)
        if template is None:
            raise NotFound(N_("This service is no longer offered."))
        return template

    # -- the flow -----------------------------------------------------------------------------

    async def flow(self, selection: Selection) -> Sequence[Step]:
        templates = await self._templates(selection)
        steps = [Step("choose", "service", prompt=ASK_SERVICE)]
        if any(t.offers_resource_choice for t in templates.values()):
            steps.append(Step("choose", "resource", prompt=ASK_RESOURCE))
        steps += [Step("date"), Step("slot"), Step("customer"), Step("confirm")]
        return steps

    async def options(self, step_key: str, selection: Selection) -> Sequence[Option]:
        if step_key == "service":
            return [
                Option(
                    id=t.id,
                    label=t.name,
                    duration_minutes=t.duration or None,
                    price=t.price,
                    description=t.description,
                )
                for t in (await self._templates(selection)).values()
            ]
        if step_key == "resource":
            anyone = Option(id=ANY_OPTION, label="")
            if selection.one("service") is None:
                return [anyone]
            template = await self._template(selection)
            return [anyone, *(Option(id=r.id, label=r.name) for r in template.resources)]
        raise NotFound(f"no step {step_key!r} in a bookingtime flow")

    # -- availability -------------------------------------------------------------------------

    def _bookable_days(self, template: Template) -> tuple[date, date]:
        """The template's booking window; without one of its own (0/0) only the platform's
        listings bound it (its default horizon)."""
        today = self.deps.clock().astimezone(self.deps.timezone).date()
        latest = (
            date.max if template.day_latest is None else today + timedelta(days=template.day_latest)
        )
        return today + timedelta(days=template.day_earliest), latest

    async def available_days(self, selection: Selection, first: date, last: date) -> set[date]:
        template = await self._template(selection)
        earliest, latest = self._bookable_days(template)
        first, last = max(first, earliest), min(last, latest)
        if first > last:
            return set()
        locale = api.locale_for(selection.language)
        months = _months(first, last)
        listings = await asyncio.gather(
            *(
                self._client.call(
                    "GET", locale, api.month_slots_path(template.id, y, m), operation="read"
                )
                for y, m in months
            )
        )
        raw = [s for content in listings for s in _parse_slots(content)]
        tz = self.deps.timezone
        return {
            s.start.astimezone(tz).date()
            for s in self._offered(template, selection, raw)
            if first <= s.start.astimezone(tz).date() <= last
        }

    async def slots(self, selection: Selection, day: date) -> Sequence[Slot]:
        template = await self._template(selection)
        earliest, latest = self._bookable_days(template)
        if not earliest <= day <= latest:
            return []
        content = await self._client.call(
            "GET",
            api.locale_for(selection.language),
            api.day_slots_path(template.id, day),
            operation="read",
        )
        tz = self.deps.timezone
        return [
            s
            for s in self._offered(template, selection, _parse_slots(content))
            if s.start.astimezone(tz).date() == day
        ]

    def _offered(
        self, template: Template, selection: Selection, raw: Iterable[records.RawSlot]
    ) -> list[Slot]:
        """The platform's slots as the customer may book them: after the lead time, inside the
        booking window, of the chosen resource; with "any resource", one slot per start time."""
        tz = self.deps.timezone
        not_before = self.deps.clock() + timedelta(minutes=template.lead_time_minutes)
        earliest, latest = self._bookable_days(template)
        chosen = selection.one("resource") if template.offers_resource_choice else None
        length = timedelta(minutes=max(template.duration, 1))
        offered: list[Slot] = []
        starts: set[datetime] = set()
        for item in sorted(raw, key=lambda s: s.start):
            start = item.start.astimezone(tz)
            if start < not_before or not earliest <= start.date() <= latest:
                continue
            resource_id: str | None = None
            if template.offers_resource_choice:
                if chosen is not None:
                    if chosen not in item.resources:
                        continue
                    resource_id = chosen
                else:
                    if start in starts:
                        continue
                    resource_id = next(
                        (r for r in item.resources if template.resource_name(r) is not None),
                        None,
                    )
            starts.add(start)
            offered.append(
                Slot(
                    id=item.id,
                    start=start,
                    end=start + length,
                    resource_id=resource_id,
                    resource_name=template.resource_name(resource_id) if resource_id else None,
                )
            )
        return offered

    # -- customer -----------------------------------------------------------------------------

    async def customer_form(self, selection: Selection) -> CustomerForm:
        """Names always; email, mobile and address exactly when the template requires them.

        Before a service is chosen (the engine should not ask then) the union over templates.
        """
        if selection.one("service") is not None:
            templates: Iterable[Template] = [await self._template(selection)]
        else:
            templates = (await self._templates(selection)).values()
        required = {CustomerField.FIRST_NAME, CustomerField.LAST_NAME}
        for t in templates:
            required |= self._demanded.get(t.id, set())
            if t.email_required:
                required.add(CustomerField.EMAIL)
            if t.mobile_required:
                required.add(CustomerField.PHONE)
            if t.address_required:
                required.add(CustomerField.ADDRESS)
        return CustomerForm(required=frozenset(required))

    # -- booking ------------------------------------------------------------------------------

    async def book(
        self,
        selection: Selection,
        slot: Slot,
        customer: CustomerDetails,
        *,
        answers: Mapping[str, str] | None = None,
        hold: Hold | None = None,
    ) -> Booking:
        template = await self._template(selection)
        locale = api.locale_for(selection.language)
        body = api.add_body(slot.id, customer, locale, self._emails)
        try:
            content = await self._client.call(
                "POST", locale, api.add_appointment_path(), operation="add", body=body
            )
        except InvalidCustomerData as refused:
            if isinstance(refused.field, CustomerField):
                self._demanded.setdefault(template.id, set()).add(refused.field)
            raise
        return records.parse_appointment(content, template, slot)

    async def reschedule(self, booking_ref: str, selection: Selection, slot: Slot) -> Booking:
        _check_ref(booking_ref)
        template: Template | None = None
        if selection.one("service") is not None:
            template = await self._template(selection)
        content = await self._client.call(
            "PUT",
            api.locale_for(selection.language),
            api.move_appointment_path(booking_ref),
            operation="move",
            body={"bookingSlotId": slot.id},
        )
        return records.parse_appointment(content, template, slot)

    async def cancel(self, booking_ref: str, selection: Selection) -> None:
        _check_ref(booking_ref)
        locale = api.locale_for(selection.language)
        try:
            await self._client.call(
                "PUT", locale, api.cancel_appointment_path(booking_ref), operation="cancel"
            )
        except BookingRefused as refused:
            # Which status an already cancelled appointment answers is not documented; ask.
            content = await self._client.call(
                "GET", locale, api.show_appointment_path(booking_ref), operation="read"
            )
            if isinstance(content, Mapping) and content.get("canceled"):
                raise NotFound("this appointment is already cancelled") from None
            raise refused

    async def still_booked(
        self, booking_ref: str, selection: Selection, customer_ref: str | None = None
    ) -> bool | None:
        """``appointment/{id}/show`` (documented): gone when 404 or ``canceled``."""
        if not _ID.fullmatch(booking_ref):
            return False
        try:
            content = await self._client.call(
                "GET",
                api.locale_for(selection.language),
                api.show_appointment_path(booking_ref),
                operation="read",
            )
        except NotFound:
            return False
        if not isinstance(content, Mapping) or "canceled" not in content:
            return None  # an answer we cannot read proves nothing
        return not content.get("canceled")

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()


def _check_ref(ref: str) -> None:
    if not _ID.fullmatch(ref):
        raise NotFound("unknown appointment")


def _months(first: date, last: date) -> list[tuple[int, int]]:
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _parse_slots(content: Any) -> list[records.RawSlot]:
    try:
        return records.parse_slots(content)
    except (KeyError, TypeError, ValueError) as exc:
        raise ProviderUnavailable("the platform answered with malformed slots") from exc
