"""The ClickBook booking provider (SOAP Web Services 1.3, on zeep's ``AsyncClient``).

The catalog comes from the 3P API (provider -> location -> service -> staff, cached for the
catalog TTL), free timeslots from it too (cached a few seconds only). Booking needs a signed-in
user (the Private API works on Domino's HTTP session): a customer books for themselves; a staff
member books for a client, in the context of the client's file, found by email or created with
NewClientFile (ClickBook then invites the client), and the ClientFileID becomes our fiche's
platform reference. New customers register in the chat (NewUserRegistration through the
Public API, the stub processed by the Admin API, then signed in).

A booking request is sent once (:mod:`.booking`); when its answer is lost, the engine's
booking intent settles it through :meth:`ClickbookProvider.find_booking` (:mod:`.lookups`).
Every guessed operation and element name is in :mod:`.mapping`; failures are mapped in
:mod:`.errors`. Settings: :class:`~providers.clickbook.settings.ClickbookSettings`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any, ClassVar

import httpx

from providers.base import (
    ANY_OPTION,
    ASK_LOCATION,
    ASK_RESOURCE,
    ASK_SERVICE,
    N_,
    SESSION_ENDED,
    Account,
    AuthFailed,
    Booking,
    BookingProvider,
    CustomerDetails,
    CustomerField,
    Fiche,
    Hold,
    NotFound,
    Option,
    ProviderDeps,
    ProviderError,
    ProviderUnavailable,
    Selection,
    SignUpForm,
    Slot,
    Step,
)
from providers.clickbook import api, booking, lookups, mapping, registration
from providers.clickbook.client import ClickbookClient, Session
from providers.clickbook.settings import ClickbookSettings
from providers.clickbook.wsdl import Documents, load_documents, open_cache
from providers.http import RetryPolicy, TTLCache
from providers.settings import secret

ASK_PROVIDER = N_("Which business would you like to book with?")
#: Free timeslots are not kept longer than this (the engine reads a month, then a day).
AVAILABILITY_TTL = 5.0


class ClickbookProvider(BookingProvider):
    """ClickBook for one service provider (or the directory, without ``provider_id``)."""

    kind: ClassVar[str] = "clickbook"
    supports_sign_in: ClassVar[bool] = True
    #: a Confirm whose answer was lost is looked up (GETBOOKINGS) by the engine's intents
    supports_lookup: ClassVar[bool] = True

    def __init__(self, deps: ProviderDeps, *, retry: RetryPolicy | None = None) -> None:
        super().__init__(deps)
        self.settings = ClickbookSettings.model_validate(dict(deps.settings))
        key_env = self.settings.api_key_env
        api_key = secret(deps.secrets, key_env, self.kind) if key_env else ""
        self._owns_http = deps.http is None
        self._http = deps.http if deps.http is not None else httpx.AsyncClient(timeout=15.0)
        self._cache = open_cache(self.settings)
        self._documents: Documents | None = None
        self._loading = asyncio.Lock()
        self.client = ClickbookClient(
            self._http,
            endpoint_url=self.settings.endpoint_url,
            login_base_url=self.settings.login_base_url,
            api_key=api_key,
            documents=self.documents,
            retry=retry,
        )
        ttl = self.settings.catalog_ttl_seconds
        self._catalog: TTLCache[Any] = TTLCache(
            deps.catalog_ttl.total_seconds() if ttl is None else ttl
        )
        self._availability: TTLCache[list[Slot]] = TTLCache(AVAILABILITY_TTL)

    def __repr__(self) -> str:
        return f"<ClickbookProvider business={self.deps.business_slug}>"

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # -- WSDLs ----------------------------------------------------------------------------------
    async def documents(self) -> Documents:
        """The parsed WSDLs, read once (single flight) and kept."""
        if self._documents is None:
            async with self._loading:
                if self._documents is None:
                    self._documents = await load_documents(self.settings, self._http, self._cache)
        return self._documents

    async def start(self) -> list[str]:
        try:
            documents = await self.documents()
        except ProviderUnavailable as failed:
            return [str(failed)]
        return [f"the {op.endpoint} WSDL has no operation {op.name}" for op in documents.missing()]

    async def check_sign_in(self) -> str | None:
        email, env = self.settings.check_email, self.settings.check_password_env
        if not email or not env:
            return None
        password = secret(self.deps.secrets, env, self.kind)
        session = await self._sign_in("check:" + self.deps.business_slug, email, password)
        del password
        kind = "staff" if session.staff else "customer"
        return f"{session.display_name or email} ({kind})"

    # -- catalog --------------------------------------------------------------------------------
    async def flow(self, selection: Selection) -> Sequence[Step]:
        steps = (
            [] if self.settings.provider_id else [Step("choose", "provider", prompt=ASK_PROVIDER)]
        )
        steps += [
            Step("choose", "location", prompt=ASK_LOCATION),
            Step("choose", "service", prompt=ASK_SERVICE),
            Step("choose", "staff", prompt=ASK_RESOURCE),
            Step("date"),
            Step("slot"),
            Step("sign_in"),
            Step("customer"),
            Step("confirm"),
        ]
        return steps

    def _provider_id(self, selection: Selection) -> str:
        chosen = self.settings.provider_id or selection.one("provider")
        if not chosen:
            raise NotFound("no ClickBook provider chosen")
        return chosen

    async def cached_read(self, key: tuple[str, ...], op: mapping.Operation, **params: Any) -> Any:
        """A catalog read, kept for the catalog TTL."""

        async def load() -> Any:
            return await self.client.call(op, **params)

        return await self._catalog.get(key, load)

    async def options(self, step_key: str, selection: Selection) -> Sequence[Option]:
        if step_key == "provider":
            found = await self.cached_read(("p",), mapping.LIST_PROVIDERS, SEARCHTEXT="")
            return [api.option(i, "PROVIDERID") for i in api.items(found, "PROVIDER")]
        provider = self._provider_id(selection)
        if step_key == "location":
            found = await self.cached_read(
                ("l", provider), mapping.LIST_LOCATIONS, PROVIDERID=provider
            )
            return [api.option(i, "LOCATIONID") for i in api.items(found, "LOCATION")]
        location = selection.one("location") or ""
        if step_key == "service":
            found = await self.cached_read(
                ("s", provider, location),
                mapping.LIST_SERVICES,
                PROVIDERID=provider,
                LOCATIONID=location,
            )
            currency = self.settings.currency
            return [
                api.option(i, "SERVICEID", currency=currency) for i in api.items(found, "SERVICE")
            ]
        if step_key == "staff":
            service = selection.one("service") or ""
            found = await self.cached_read(
                ("t", provider, location, service),
                mapping.LIST_STAFF,
                PROVIDERID=provider,
                LOCATIONID=location,
                SERVICEID=service,
            )
            staff = [api.option(i, "STAFFID") for i in api.items(found, "STAFF")]
            label = "Pas de préférence" if selection.language.startswith("fr") else "Any"
            return [Option(id=ANY_OPTION, label=label), *staff] if len(staff) > 1 else staff
        raise NotFound(f"ClickBook has no step {step_key!r}")

    # -- availability ---------------------------------------------------------------------------
    def _slot_key(self, selection: Selection) -> tuple[str, str, str, str]:
        service = selection.one("service")
        if not service:
            raise NotFound("no service chosen")
        location = selection.one("location") or ""
        return self._provider_id(selection), location, service, selection.one("staff") or ""

    async def _timeslots(self, selection: Selection, first: date, last: date) -> list[Slot]:
        provider, location, service, staff = self._slot_key(selection)
        found = await self.client.call(
            mapping.LIST_TIMESLOTS,
            PROVIDERID=provider,
            LOCATIONID=location,
            SERVICEID=service,
            STAFFID=staff,
            STARTDATE=api.format_day(first),
            ENDDATE=api.format_day(last),
        )
        zone, now = self.deps.timezone, self.deps.clock()
        slots = [api.slot_of(i, zone) for i in api.items(found, "TIMESLOT")]
        return sorted((s for s in slots if s.start > now and s.id), key=lambda s: s.start)

    async def available_days(self, selection: Selection, first: date, last: date) -> set[date]:
        last = min(last, first + timedelta(days=self.settings.horizon_days))
        zone = self.deps.timezone
        # The date picker redraws its month on every page: a few seconds' cache, no more.
        found = await self._availability.get(
            (*self._slot_key(selection), first.isoformat(), last.isoformat()),
            lambda: self._timeslots(selection, first, last),
        )
        return {s.start.astimezone(zone).date() for s in found}

    async def slots(self, selection: Selection, day: date) -> Sequence[Slot]:
        """A day's free timeslots, read afresh (the customer is about to pick one)."""
        zone = self.deps.timezone
        return [
            s
            for s in await self._timeslots(selection, day, day)
            if s.start.astimezone(zone).date() == day
        ]

    # -- accounts -------------------------------------------------------------------------------
    async def _sign_in(self, user_key: str, email: str, password: str) -> Session:
        session = await self.client.sign_in(user_key, email, password)
        del password
        info = await self.client.call(mapping.USER_INFO, context="session", user_key=user_key)
        if isinstance(info, Mapping):
            session.user_type = api.text(info, "USERTYPE") or mapping.USER_CUSTOMER
            found = api.customer_of(info)
            session.details = {f.value: v for f in CustomerField if (v := found.get(f)) is not None}
        return session

    async def sign_in(self, selection: Selection, email: str, password: str) -> Account:
        session = await self._sign_in(selection.user_key, email, password)
        del password
        return Account(
            ref=session.email,
            email=session.email,
            display_name=session.display_name,
            staff=session.staff,
        )

    async def sign_up_form(self, selection: Selection) -> SignUpForm | None:
        return await registration.form(self, selection)

    async def sign_up(
        self,
        selection: Selection,
        email: str,
        *,
        details: Mapping[str, str] | None = None,
        password: str | None = None,
    ) -> Account:
        if not password:
            raise AuthFailed("ClickBook registration needs a password", reason="no_password")
        await registration.register(self.client, email, details or {}, password)
        account = await self.sign_in(selection, email, password)
        del password
        return account

    async def sign_out(self, selection: Selection) -> None:
        await self.client.sign_out(selection.user_key)

    async def fiches(self, selection: Selection) -> Sequence[Fiche]:
        """A signed-in customer books for themselves: their own details, from ClickBook. A
        staff member's clients are our stored fiches (with their ClientFileID)."""
        session = self.client.session(selection.user_key)
        if session is None or session.staff or not session.details:
            return ()
        details = session.details
        customer = CustomerDetails(
            first_name=details.get("first_name", ""),
            last_name=details.get("last_name", ""),
            phone=details.get("phone"),
            email=details.get("email") or session.email,
        )
        return [
            Fiche(
                provider_ref=registration.self_ref(session.email) or "", customer=customer, label=""
            )
        ]

    # -- booking --------------------------------------------------------------------------------
    async def _context(
        self, selection: Selection, customer: CustomerDetails, *, create: bool
    ) -> tuple[str | None, str | None]:
        """In whose name a booking for ``customer`` is made: ``(client file, own reference)``.
        A staff member books in the client's file (created when ``create``; else ``None`` if
        the client has none); a customer books as themselves (``""``), ``own`` being their
        own record's reference when the booking is for them, not for someone else."""
        session = self.client.session(selection.user_key)
        if session is None:
            # The session lives in memory only: gone after a restart.
            raise AuthFailed(SESSION_ENDED, detail="no ClickBook session for this user")
        if session.staff:
            find = registration.client_file if create else registration.existing_client_file
            return await find(self.client, selection.user_key, customer), None
        own = customer.provider_ref
        return "", own if own and own == registration.self_ref(session) else None

    async def book(
        self,
        selection: Selection,
        slot: Slot,
        customer: CustomerDetails,
        *,
        answers: Mapping[str, str] | None = None,
        hold: Hold | None = None,
    ) -> Booking:
        """BOOKTIMESLOT, sent once: an unanswered request is looked up by the engine's booking
        intent (:meth:`find_booking`) before it is ever sent again."""
        file_id, own = await self._context(selection, customer, create=True)
        made = await booking.book_timeslot(self.client, selection, slot, file_id or "", own)
        self._availability.clear()
        return replace(made, service_name=await self._service_name(selection))

    async def find_booking(
        self, selection: Selection, slot: Slot, customer: CustomerDetails
    ) -> Booking | None:
        """The signed-in user's booking of ``slot`` (a staff member's: in the client file of
        ``customer``, found by our fiche's ClientFileID or the client's email). Without a
        session in this process nothing can be looked up: :class:`AuthFailed`."""
        file_id, own = await self._context(selection, customer, create=False)
        if file_id is None:
            return None  # a client without a client file: nothing was booked for them
        return await lookups.booking_of_slot(
            self.client,
            selection.user_key,
            slot,
            self.deps.timezone,
            client_file=file_id,
            customer_ref=file_id or own,
        )

    async def _service_name(self, selection: Selection) -> str:
        wanted = selection.one("service")
        try:
            for found in await self.options("service", selection):
                if found.id == wanted:
                    return found.label
        except ProviderError:
            pass
        return ""

    async def still_booked(
        self, booking_ref: str, selection: Selection, customer_ref: str | None = None
    ) -> bool | None:
        today = self.deps.clock().astimezone(self.deps.timezone).date()
        return await lookups.is_booked(self.client, selection.user_key, booking_ref, today)

    async def cancel(self, booking_ref: str, selection: Selection) -> None:
        if self.client.session(selection.user_key) is None:
            # The engine asks the customer to sign in again, then cancels.
            raise AuthFailed(SESSION_ENDED, detail="no ClickBook session to cancel with")
        await booking.cancel_booking(self.client, selection.user_key, booking_ref)
        self._availability.clear()
