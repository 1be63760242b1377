"""``confirm``: the summary, and the one booking request a tap on Confirm makes.

Idempotency: before calling the platform the engine checkpoints the conversation (bumping its
version), so a second tap, or the same tap delivered twice to two workers, finds the menu
already used and books nothing. The booking row's ``idempotency_key`` backs this up in the
database.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from bot.engine.steps.base import StepHandler, go_to, nav_row
from bot.engine.steps.choose import stored_price
from bot.engine.steps.slot import release_hold
from bot.engine.summary import booking_lines
from bot.engine.turn import MenuButton, Turn
from bot.i18n import N_
from providers.base import (
    AuthFailed,
    Booking,
    BookingRefused,
    CustomerDetails,
    Hold,
    HoldExpired,
    InvalidCustomerData,
    NotFound,
    ProviderUnavailable,
    Slot,
    SlotTaken,
    Step,
)
from storage import bookings as booking_store

#: Where a platform refusal sends the user (ClicRDV's rule codes and the like).
REFUSAL_NEXT_STEP = {
    "MintimeBetween": "date",
    "SameTimeRdv": "date",
    "MintimeRdv": "date",
    "MaxRdvPeriod": "date",
    "EmailAlreadyExists": "sign_in",
    "EmailNotFound": "sign_in",
}
REFUSAL_TEXT = {
    "MaxRdvNumber": N_("You already have the maximum number of appointments with this business."),
    "MintimeBetween": N_(
        "This is too close to another appointment of yours. Please pick another time."
    ),
    "MaxRdvPeriod": N_("This date is too far ahead. Please pick an earlier day."),
    "MintimeRdv": N_("This time is too soon to book online. Please pick a later time."),
    "SameTimeRdv": N_("You already have an appointment at that time. Please pick another time."),
    "EmailAlreadyExists": N_("An account already exists with this email. Please sign in."),
    "EmailNotFound": N_("No account was found with this email."),
}


def customer_details(booking: dict[str, Any]) -> CustomerDetails:
    cust = booking.get("cust", {})
    birth = cust.get("birth_date")
    return CustomerDetails(
        first_name=cust.get("first_name", ""),
        last_name=cust.get("last_name", ""),
        phone=cust.get("phone"),
        email=cust.get("email"),
        birth_date=date.fromisoformat(birth) if birth else None,
        personal_id=cust.get("personal_id"),
        address=cust.get("address"),
        provider_ref=booking.get("fiche_ref"),
    )


def _service_choice(booking: dict[str, Any]) -> dict[str, Any]:
    for key in ("service", "services"):
        if key in booking["ch"]:
            choice: dict[str, Any] = booking["ch"][key]
            return choice
    return {"labels": []}


def _staff_name(booking: dict[str, Any], slot: Slot) -> str | None:
    for key in ("staff", "resource", "calendar"):
        choice = booking["ch"].get(key)
        if choice and choice["ids"] and choice["ids"][0] != "*":
            return str(choice["labels"][0])
    return slot.resource_name


class ConfirmStep(StepHandler):
    kind: ClassVar[str] = "confirm"

    def summary(self, turn: Turn) -> list[str]:
        booking = turn.booking
        slot = Slot.from_json(booking["slot"])
        service = _service_choice(booking)
        price = stored_price(service)
        cust = booking.get("cust", {})
        name = f"{cust.get('first_name', '')} {cust.get('last_name', '')}".strip()
        return booking_lines(
            language=turn.language,
            business=turn.business.name,
            service=", ".join(service["labels"]) or "-",
            staff=_staff_name(booking, slot),
            start=slot.start,
            zone=turn.business.zone,
            price=(price.amount, price.currency) if price else None,
            customer=name or None,
        )

    async def show(self, turn: Turn, step: Step) -> None:
        if turn.data.pop("confirming", None):
            # A confirmation was under way when the process stopped: the platform may or may not
            # have booked it, and retrying blindly could book twice.
            turn.notice(
                "We could not tell whether your last confirmation went through. "
                "Please check /mybookings before confirming again."
            )
        lines = self.summary(turn)
        title = (
            turn.t("Please check the new time:")
            if turn.booking.get("resched")
            else turn.t("Please check your booking:")
        )
        turn.show(
            title + "\n\n" + "\n".join(lines),
            [[MenuButton(turn.t("✅ Confirm"), "b:ok")], nav_row(turn)],
        )

    async def on_action(self, turn: Turn, step: Step, action: str) -> None:
        if action != "ok":
            await self.show(turn, step)
            return
        if not await turn.checkpoint():
            turn.alert = turn.t("This booking is already being confirmed.")
            return
        booking = turn.booking
        slot = Slot.from_json(booking["slot"])
        hold = Hold.from_json(booking["hold"]) if booking.get("hold") else None
        try:
            if booking.get("resched"):
                result = await turn.provider.reschedule(
                    booking["resched_ref"], turn.selection(), slot
                )
            else:
                result = await turn.provider.book(
                    turn.selection(),
                    slot,
                    customer_details(booking),
                    answers=booking.get("ans") or None,
                    hold=hold,
                )
        except (SlotTaken, HoldExpired):
            await release_hold(turn)
            booking["after"] = slot.start.isoformat()
            booking["page"] = 0
            if booking.get("unanswered") == slot.id:
                # The platform never answered the last Confirm of this very time: it may well
                # have booked it then, so "taken" may mean taken by this user.
                turn.notice(
                    "That time is no longer free. Your earlier confirmation may have gone "
                    "through after all: please check with the business before you book "
                    "another time."
                )
            else:
                turn.notice("Sorry, that time was just taken. Here are the next free times.")
            await go_to(turn, "slot")
            return
        except InvalidCustomerData as invalid:
            field = str(getattr(invalid.field, "value", invalid.field))
            booking.get("cust", {}).pop(field, None)
            booking["cs"] = "ask"
            turn.notice(
                invalid.message
                or "The booking system did not accept this detail. Please type it again."
            )
            await go_to(turn, "customer")
            return
        except AuthFailed as refused_account:
            if not any(s.key == "sign_in" for s in turn.steps):
                # The business's own credentials were refused: nothing the user can fix.
                raise ProviderUnavailable(refused_account.message) from None
            booking.pop("acct", None)
            turn.notice(REFUSAL_TEXT.get(refused_account.reason or "") or "Please sign in again.")
            await go_to(turn, "sign_in")
            return
        except BookingRefused as refused:
            turn.notice(
                REFUSAL_TEXT.get(refused.reason) or refused.message or "The booking was refused."
            )
            target = REFUSAL_NEXT_STEP.get(refused.reason)
            if target and any(s.key == target for s in turn.steps):
                await go_to(turn, target)
            else:
                await self.show(turn, step)
            return
        except ProviderUnavailable:
            # Unanswered is not refused: the platform may have booked it (see SlotTaken above).
            booking["unanswered"] = slot.id
            turn.notice(
                "The booking system did not answer. "
                "If your booking does not appear in /mybookings, try again: your choices are kept."
            )
            turn.show(
                turn.t("Try again?"),
                [[MenuButton(turn.t("↻ Retry"), "b:ok")], nav_row(turn)],
            )
            return
        except NotFound as gone:
            turn.notice(gone.message or "This is no longer available.")
            await go_to(turn, turn.steps[0].key)
            return
        await self._finish(turn, result)

    async def _finish(self, turn: Turn, result: Booking) -> None:
        booking = dict(turn.booking)
        lines = self.summary(turn)
        key = f"{turn.record.id}:{turn.record.version}"
        user_id, chat_id = turn.event.user_id, turn.event.chat_id
        business_id = turn.services.business_ids[booking["biz"]]
        selection = {k: v["ids"] for k, v in booking["ch"].items()}
        service = _service_choice(booking)
        slot = Slot.from_json(booking["slot"])
        now = turn.now

        if booking.get("resched"):
            turn.writes.append(
                booking_store.move(booking["resched"], result.start, result.end, now)
            )
        else:
            price = result.price or stored_price(service)
            turn.writes.append(
                booking_store.record(
                    booking_store.Confirmed(
                        user_id=user_id,
                        chat_id=chat_id,
                        first_name=turn.event.first_name,
                        telegram_language=turn.event.telegram_language,
                        business_id=business_id,
                        result=result,
                        service_name=", ".join(service["labels"]) or result.service_name,
                        resource_name=_staff_name(booking, slot) or result.resource_name,
                        price=(Decimal(price.amount), price.currency) if price else None,
                        selection=selection,
                        idempotency_key=key,
                        fiche_id=booking.get("fiche"),
                        label=booking.get("label", ""),
                        details=booking.get("cust", {}),
                        now=now,
                    )
                )
            )
        turn.data.pop("b", None)
        title = (
            turn.t("✅ Your new time is confirmed.")
            if booking.get("resched")
            else turn.t("✅ Booked! See you soon.")
        )
        turn.show(
            title
            + "\n\n"
            + "\n".join(lines)
            + "\n\n"
            + turn.t("To cancel or change it, send /mybookings.")
        )
