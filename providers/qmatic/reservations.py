"""Qmatic's reservation lifecycle: a slot is reserved (``POST /reservations``, held 15 minutes),
then confirmed into an appointment (``PUT /reservations/{id}``) or released (``DELETE``).

A module of its own because holding, booking and rescheduling all go through this lifecycle, and
its rules live in one place: a confirmation is never repeated, a reservation the platform surely
refused is released, one whose answer was lost is left to expire (it may have been booked).
The API document gives both 201 answers no body schema: ids are read from the body, else from
the ``Location`` header, and a confirmation that carries neither is looked up (see
:mod:`providers.qmatic.api`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from providers.base import Booking, NotFound, ProviderError, ProviderUnavailable, Slot
from providers.qmatic import api
from providers.qmatic.catalog import Offering
from providers.qmatic.client import Answer, QmaticClient
from providers.qmatic.errors import Operation, shape_error

log = logging.getLogger(__name__)


class Reservations:
    """Reserve, confirm and release slots of one tenant."""

    def __init__(self, client: QmaticClient) -> None:
        self._client = client

    async def reserve(
        self,
        offering: Offering,
        slot: Slot,
        resource_id: str | None,
        party_size: int,
        language: str,
    ) -> str:
        """Reserve ``slot``; the reservation's id."""
        start, end = api.slot_times(slot)
        answer = await self._client.send(
            "POST",
            api.RESERVATIONS,
            Operation.RESERVE,
            language=language,
            idempotent=False,
            json_body=api.reservation_body(
                offering.service_id, offering.branch_id, resource_id, start, end, party_size
            ),
        )
        try:
            return api.reservation_id(answer.body, answer.location)
        except ValueError as exc:
            # Held on the platform, but we cannot name it: it expires by itself in 15 minutes.
            raise shape_error(exc) from None

    async def release(self, reservation_id: str, language: str) -> None:
        try:
            await self._client.send(
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

    async def confirm(self, reservation_id: str, body: Mapping[str, Any], language: str) -> Answer:
        return await self._client.send(
            "PUT",
            api.reservation_path(reservation_id),
            Operation.CONFIRM,
            language=language,
            idempotent=False,  # never repeated: the engine decides
            json_body=body,
        )

    async def confirm_own(
        self, reservation_id: str, body: Mapping[str, Any], language: str
    ) -> Answer:
        """Confirm a reservation made inside this call; release it when the platform surely
        refused (after a timeout it may have booked, so it is left to expire instead)."""
        try:
            return await self.confirm(reservation_id, body, language)
        except ProviderUnavailable:
            raise
        except ProviderError:
            await self.release(reservation_id, language)
            raise

    async def confirmed_booking(
        self,
        answer: Answer,
        slot: Slot,
        offering: Offering,
        identifier: str,
        *,
        language: str,
        zone: ZoneInfo,
    ) -> Booking:
        """The booking a confirmation answered; an empty 201 is looked up by the customer's
        identifier and the slot's start (one search, only then)."""
        ref = api.created_id(answer.body, answer.location, "appointmentId")
        if ref is None:
            found = await self._client.send(
                "POST",
                api.APPOINTMENTS_SEARCH,
                Operation.SEARCH,
                language=language,
                idempotent=True,  # a search changes nothing
                json_body=api.search_body(identifier),
            )
            try:
                ref = api.appointment_at(found.body, slot.start, zone)
            except ValueError as exc:
                raise shape_error(exc) from None
        return booking_of({"appointmentId": ref}, slot, offering, identifier)


def booking_of(
    appointment: Any, slot: Slot, offering: Offering, personal_id: str | None
) -> Booking:
    """The booking a confirmation (or a move) answered."""
    ref = None
    if isinstance(appointment, Mapping):
        ref = appointment.get("appointmentId") or appointment.get("id")
    if not ref:
        # Confirmed, maybe, but not found: never say it failed.
        raise ProviderUnavailable(
            "the booking platform answered the confirmation without naming the appointment;"
            " it may have been booked"
        )
    return Booking(
        ref=str(ref),
        start=slot.start,
        end=slot.end,
        service_name=offering.service_name,
        resource_name=slot.resource_name,
        customer_ref=personal_id,
    )
