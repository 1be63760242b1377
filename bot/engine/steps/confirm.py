"""``confirm``: the summary, and the one booking request a tap on Confirm makes.

Idempotency: before calling the platform the engine checkpoints the conversation (bumping its
version and dropping the tapped menu), so a second tap, or the same tap delivered twice to two
workers, finds the menu already used and books nothing. The checkpoint also records the booking
intent, settled with the booking (:mod:`bot.engine.intents`): a crash in between leaves no
booking unknown to us. The booking row's ``idempotency_key`` backs this up in the database.
"""

from __future__ import annotations

from typing import ClassVar

from bot.engine import funnel, intents
from bot.engine.flow import (
    ACCOUNT_REFUSED,
    DETAILS_REVIEWED,
    FIELD_REFUSED,
    GONE,
    REFUSED,
    RULE_REFUSED,
    SLOT_TAKEN,
    follow,
)
from bot.engine.intents import customer_details, service_choice
from bot.engine.news_consent import news_question
from bot.engine.reconcile import OUTCOME_TEXT
from bot.engine.steps.base import StepHandler, nav_row
from bot.engine.steps.choose import stored_price
from bot.engine.steps.customer import detail_lines
from bot.engine.steps.slot import release_hold
from bot.engine.summary import booking_lines
from bot.engine.turn import MenuButton, Turn
from bot.i18n import N_
from providers.base import (
    AuthFailed,
    Booking,
    BookingRefused,
    Hold,
    HoldExpired,
    InvalidCustomerData,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    Refusal,
    Slot,
    SlotTaken,
    Step,
)
from storage import bookings as booking_store
from storage.intent_models import UNKNOWN

#: Where a platform refusal sends the user, by what it means (adapters map their codes to kinds).
REFUSAL_NEXT_STEP = {
    Refusal.TOO_CLOSE_TO_ANOTHER: "date",
    Refusal.SAME_TIME: "date",
    Refusal.TOO_SOON: "date",
    Refusal.TOO_FAR_AHEAD: "date",
    Refusal.ACCOUNT_EXISTS: "sign_in",
    Refusal.ACCOUNT_UNKNOWN: "sign_in",
}
REFUSAL_TEXT = {
    Refusal.TOO_MANY_BOOKINGS: N_(
        "You already have the maximum number of appointments with this business."
    ),
    Refusal.TOO_CLOSE_TO_ANOTHER: N_(
        "This is too close to another appointment of yours. Please pick another time."
    ),
    Refusal.TOO_FAR_AHEAD: N_("This date is too far ahead. Please pick an earlier day."),
    Refusal.TOO_SOON: N_("This time is too soon to book online. Please pick a later time."),
    Refusal.SAME_TIME: N_(
        "You already have an appointment at that time. Please pick another time."
    ),
    Refusal.ACCOUNT_EXISTS: N_("An account already exists with this email. Please sign in."),
    Refusal.ACCOUNT_UNKNOWN: N_("No account was found with this email."),
}


def _asks_details(turn: Turn) -> bool:
    """Whether this booking collects who it is for (not a reschedule: its flow skips that)."""
    return turn.booking.rescheduling is None and any(s.kind == "customer" for s in turn.steps)


class ConfirmStep(StepHandler):
    kind: ClassVar[str] = "confirm"

    def summary(self, turn: Turn) -> list[str]:
        booking = turn.booking
        slot = Slot.from_json(booking.slot or {})
        service = service_choice(booking)
        price = stored_price(service)
        cust = booking.customer or {}
        name = f"{cust.get('first_name', '')} {cust.get('last_name', '')}".strip()
        return booking_lines(
            language=turn.language,
            business=turn.business.name,
            service=", ".join(service.labels) or "-",
            # Every adapter names the chosen (or, for "no preference", the given) resource on
            # the slot, so the engine needs no step key for it.
            staff=slot.resource_name,
            start=slot.start,
            zone=turn.business.zone,
            price=(price.amount, price.currency) if price else None,
            customer=name or None,
        )

    async def show(self, turn: Turn, step: Step) -> None:
        confirming, turn.state.confirming = turn.state.confirming, None
        if confirming:
            # A confirmation was under way when the process stopped: the platform may or may not
            # have booked it, and retrying blindly could book twice.
            kind = "reschedule" if turn.booking.rescheduling else "book"
            turn.notice(OUTCOME_TEXT[(UNKNOWN, kind)])
        lines = self.summary(turn)
        rows = [[MenuButton(turn.t("✅ Confirm"), "b:ok")]]
        if _asks_details(turn):
            # Every detail is on screen, so a typo shows, and each can be corrected from here.
            lines += detail_lines(turn)
            rows.append([MenuButton(turn.t("✏️ Change my details"), "b:details")])
        title = (
            turn.t("Please check the new time:")
            if turn.booking.rescheduling
            else turn.t("Please check your booking:")
        )
        turn.show(title + "\n\n" + "\n".join(lines), [*rows, nav_row(turn)])

    async def on_back(self, turn: Turn, step: Step) -> bool:
        """Back after typing the details: the review of them, where each can be corrected
        (going back to the form would only find it complete and come straight here again).
        After picking a stored person, Back is the usual one (to the list of people)."""
        booking = turn.booking
        if not _asks_details(turn) or booking.fiche_id is not None or booking.fiche_reference:
            return False
        booking.customer_stage = "review"
        await follow(turn, DETAILS_REVIEWED)
        return True

    async def on_action(self, turn: Turn, step: Step, action: str) -> None:
        if action == "details" and _asks_details(turn):
            turn.booking.customer_stage = "review"
            await follow(turn, DETAILS_REVIEWED)
            return
        if action != "ok":
            await self.show(turn, step)
            return
        booking = turn.booking
        reference = turn.provider.customer_reference(customer_details(booking))
        if reference is not None and not booking.rescheduling:
            # Sent with the booking and recorded with the intent: a lookup can find it.
            booking.fiche_ref = reference
        if not await turn.checkpoint(intent=True):
            turn.alert = turn.t("This booking is already being confirmed.")
            return
        booking = turn.booking
        slot = Slot.from_json(booking.slot or {})
        try:
            result = await self._request(turn, slot)
        except (SlotTaken, HoldExpired):
            await self._taken(turn, slot)
            return
        except InvalidCustomerData as invalid:
            await self._field_refused(turn, invalid)
            return
        except AuthFailed as refused_account:
            await self._account_refused(turn, refused_account)
            return
        except BookingRefused as refused:
            await self._refused(turn, refused)
            return
        except ProviderUnavailable:
            self._unanswered(turn, slot)
            return
        except NotFound as gone:
            turn.notice(gone.message or "This is no longer available.")
            await follow(turn, GONE)
            return
        await self._finish(turn, result)

    @staticmethod
    async def _field_refused(turn: Turn, invalid: InvalidCustomerData) -> None:
        """The platform refused one of the customer's details: forget it and ask it again."""
        booking = turn.booking
        field = str(getattr(invalid.field, "value", invalid.field))
        (booking.customer or {}).pop(field, None)
        booking.customer_stage = "ask"
        turn.notice(
            invalid.message
            or "The booking system did not accept this detail. Please type it again."
        )
        await follow(turn, FIELD_REFUSED)

    @staticmethod
    async def _refused(turn: Turn, refused: BookingRefused) -> None:
        """The platform refused the booking under one of its rules: say why and go back to the
        step that can fix it (signing in, or the rule's own step) when the flow has it."""
        turn.notice(REFUSAL_TEXT.get(refused.kind) or refused.message or "The booking was refused.")
        target = REFUSAL_NEXT_STEP.get(refused.kind)
        if not any(s.key == target for s in turn.steps):
            await follow(turn, REFUSED)
        elif target == "sign_in":
            await follow(turn, ACCOUNT_REFUSED)
        else:
            await follow(turn, RULE_REFUSED)

    @staticmethod
    def _unanswered(turn: Turn, slot: Slot) -> None:
        """The platform did not answer: offer a retry, keeping every choice."""
        # Unanswered is not refused: the platform may have booked it (see _taken).
        turn.booking.unanswered = slot.id
        turn.notice(
            "The booking system did not answer. "
            "If your booking does not appear in /mybookings, try again: your choices are kept."
        )
        turn.show(turn.t("Try again?"), [[MenuButton(turn.t("↻ Retry"), "b:ok")], nav_row(turn)])

    @staticmethod
    async def _account_refused(turn: Turn, refused: AuthFailed) -> None:
        """The platform refused the customer's session or account: sign in (again)."""
        booking = turn.booking
        if booking.rescheduling is not None and turn.provider.supports_sign_in:
            # A Change skips signing in; the session ended: sign in, then the Change starts
            # again (see my_bookings.sign_in_first).
            from bot.engine.my_bookings import sign_in_first

            change = f"r:{booking.rescheduling}"
            await sign_in_first(turn, booking.business, change, refused)
            return
        if not any(s.key == "sign_in" for s in turn.steps):
            # The business's own credentials were refused: nothing the user can fix.
            raise ProviderUnavailable(refused.message) from None
        booking.account = None
        turn.notice(REFUSAL_TEXT.get(refused.kind) or "Please sign in again.")
        await follow(turn, ACCOUNT_REFUSED)

    async def _request(self, turn: Turn, slot: Slot) -> Booking:
        """The one booking (or reschedule) request of a Confirm; a refusal settles its intent
        as failed (an unanswered request leaves it pending, to be looked up)."""
        booking = turn.booking
        try:
            if booking.rescheduling:
                return await turn.provider.reschedule(
                    booking.rescheduling_ref or "", turn.selection(), slot
                )
            if turn.provider.books_in_database:
                return await intents.book_in_database(turn, lambda got: self._record(turn, got))
            return await turn.provider.book(
                turn.selection(),
                slot,
                customer_details(booking),
                answers=booking.answers or None,
                hold=Hold.from_json(booking.hold) if booking.hold else None,
            )
        except ProviderUnavailable:
            raise
        except ProviderError:
            intents.refused(turn)
            raise

    @staticmethod
    async def _taken(turn: Turn, slot: Slot) -> None:
        """The time went (or its hold expired): the free times from it onwards."""
        booking = turn.booking
        await release_hold(turn)
        booking.not_before = slot.start.isoformat()
        booking.page = 0
        if booking.unanswered == slot.id:
            # The platform never answered the last Confirm of this very time: it may well
            # have booked it then, so "taken" may mean taken by this user.
            turn.notice(
                "That time is no longer free. Your earlier confirmation may have gone "
                "through after all: please check with the business before you book "
                "another time."
            )
        else:
            turn.notice("Sorry, that time was just taken. Here are the next free times.")
        await follow(turn, SLOT_TAKEN)

    @staticmethod
    def _record(turn: Turn, result: Booking) -> booking_store.Confirmed:
        """Our record of the booking ``result`` this Confirm made."""
        return intents.confirmed(
            intents.request_of(turn),
            key=turn.state.intent or "",
            user_id=turn.event.user_id,
            chat_id=turn.event.chat_id,
            business_id=turn.services.business_ids[turn.booking.business],
            result=result,
            now=turn.now,
        )

    async def _finish(self, turn: Turn, result: Booking) -> None:
        booking = turn.booking
        lines = self.summary(turn)
        key = turn.state.intent
        if key is None:
            pass  # recorded with the booking, in its transaction (books_in_database)
        elif booking.rescheduling:
            turn.writes.append(intents.moved(key, booking.rescheduling, result, turn.now))
        else:
            turn.writes.append(intents.booked(self._record(turn, result), turn.now))
        funnel.booked(turn)
        turn.state.intent = None
        turn.state.booking = None
        title = (
            turn.t("✅ Your new time is confirmed.")
            if booking.rescheduling
            else turn.t("✅ Booked! See you soon.")
        )
        text = (
            title
            + "\n\n"
            + "\n".join(lines)
            + "\n\n"
            + turn.t("To cancel or change it, send /mybookings.")
        )
        rows: list[list[MenuButton]] = []
        business_id = turn.services.business_ids[booking.business]
        asked = None if booking.rescheduling else await news_question(turn, business_id)
        if asked is not None:
            text += "\n\n" + asked[0]
            rows = [asked[1]]
        turn.show(text, rows)
