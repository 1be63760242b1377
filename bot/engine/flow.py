"""The state machine in one place: which events move a conversation from one state to another.

A provider declares the order of the steps (``BookingProvider.flow``); this table says what
every step kind does with the user's input, whatever the order. It is what runs: a step that
moves the conversation names the row (``await follow(turn, SLOT_TAKEN)``) and :func:`follow`
goes where the row's ``target`` says. The few rows the engine carries out in its own way
(starting a booking, booking, /mybookings) are in :data:`CARRIED_OUT_ELSEWHERE`; a test checks
that every other row is followed somewhere, and that steps move only through :func:`follow`.

``docs/conversation.md`` holds the Mermaid diagram generated from the table
(``python -m bot.engine.flow > docs/conversation.md``); a test keeps the two in step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from bot.engine.turn import Turn


class Transition(NamedTuple):
    """In ``source`` (a step kind, or one of the states below), on ``event``, go to
    ``target``: a step kind (its first step in the flow), :data:`NEXT`, :data:`BACK`,
    :data:`FIRST`, :data:`IDLE`, or ``source`` itself (the step is shown again)."""

    source: str
    event: str
    target: str


#: the following step in the provider's flow
NEXT = "next"
#: the previous step the user answered (steps settled without asking are skipped on the way
#: back and never lead back: one option only, a reschedule's service and staff)
BACK = "back"
#: the first step of the provider's flow
FIRST = "first step"
#: no booking in progress (any hold released)
IDLE = "idle"
#: every step of a booking in progress
ANY = "any step"

START = Transition(IDLE, "/book, /start [business]", "business")
BUSINESS_CHOSEN = Transition("business", "one business, or one tapped", FIRST)
FIRST_STEP = Transition(FIRST, "provider's flow", "choose")
CHOSEN = Transition("choose", "option tapped (or only one option)", NEXT)
PICKS_DONE = Transition("choose", "several picks + Continue (max_picks > 1)", NEXT)
DAY_CHOSEN = Transition("date", "day with free time tapped, or Earliest available", NEXT)
MONTH_PAGED = Transition("date", "‹ › month", "date")
TIME_CHOSEN = Transition("slot", "time tapped (hold taken when the platform holds)", NEXT)
DAY_FULL = Transition("slot", "no free time left that day", BACK)
SIGNED_IN = Transition(
    "sign_in", "email + password accepted (password message deleted), or account created", NEXT
)
WRONG_PASSWORD = Transition("sign_in", "wrong password", "sign_in")
SIGNED_IN_AGAIN = Transition(
    "sign_in", "signed in again for a Cancel or Change (then carried out)", IDLE
)
ANSWERED = Transition("questions", "all answered", NEXT)
SCREENED_OUT = Transition("questions", "screening answer refused", IDLE)
CUSTOMER_KNOWN = Transition("customer", "stored fiche picked, or every field typed and valid", NEXT)
INVALID_FIELD = Transition("customer", "invalid field", "customer")
DETAILS_REVIEWED = Transition(
    "confirm", "Change my details, or Back after typing them (each one correctable)", "customer"
)
BOOKED = Transition("confirm", "Confirm: platform booked", "booked")
SLOT_TAKEN = Transition("confirm", "slot taken / hold expired", "slot")
FIELD_REFUSED = Transition("confirm", "platform refused a field", "customer")
RULE_REFUSED = Transition("confirm", "platform refused a rule about the time", "date")
ACCOUNT_REFUSED = Transition(
    "confirm", "session lost, or the platform refused the account", "sign_in"
)
REFUSED = Transition("confirm", "platform refused, nothing to change", "confirm")
UNAVAILABLE = Transition("confirm", "platform unavailable (Retry)", "confirm")
GONE = Transition("confirm", "platform: no longer available", FIRST)
REMINDED = Transition("booked", "reminders scheduled", IDLE)
WENT_BACK = Transition(ANY, "Back (shown only after a step the user answered)", BACK)
CANCELLED = Transition(ANY, "Cancel, /cancel (hold released)", IDLE)
TIMED_OUT = Transition(ANY, "idle timeout (hold released; the sweep's too)", IDLE)
NOT_BOOKABLE = Transition(ANY, "platform: not bookable or not found", IDLE)
RETRIED = Transition(ANY, "platform unavailable, then Retry", ANY)
STALE_BUTTON = Transition(ANY, "stale or forged button", ANY)
CANCELLED_BOOKING = Transition(IDLE, "/mybookings → Cancel → Yes", IDLE)
RESCHEDULE = Transition(IDLE, "/mybookings → Change", "date")
SESSION_ENDED = Transition(IDLE, "Cancel or Change: the session ended", "sign_in")

TRANSITIONS: list[Transition] = [
    START,
    BUSINESS_CHOSEN,
    FIRST_STEP,
    CHOSEN,
    PICKS_DONE,
    DAY_CHOSEN,
    MONTH_PAGED,
    TIME_CHOSEN,
    DAY_FULL,
    SIGNED_IN,
    WRONG_PASSWORD,
    SIGNED_IN_AGAIN,
    ANSWERED,
    SCREENED_OUT,
    CUSTOMER_KNOWN,
    INVALID_FIELD,
    DETAILS_REVIEWED,
    BOOKED,
    SLOT_TAKEN,
    FIELD_REFUSED,
    RULE_REFUSED,
    ACCOUNT_REFUSED,
    REFUSED,
    UNAVAILABLE,
    GONE,
    REMINDED,
    WENT_BACK,
    CANCELLED,
    TIMED_OUT,
    NOT_BOOKABLE,
    RETRIED,
    STALE_BUTTON,
    CANCELLED_BOOKING,
    RESCHEDULE,
    SESSION_ENDED,
]

#: Rows the engine carries out itself, not through :func:`follow`, and where.
CARRIED_OUT_ELSEWHERE: dict[Transition, str] = {
    START: "commands.command and booking.begin ask for the business",
    BUSINESS_CHOSEN: "booking.start_booking shows the first step",
    FIRST_STEP: "the provider's flow() lists the steps",
    BOOKED: "ConfirmStep._finish records the booking (the hold became the booking)",
    UNAVAILABLE: "ConfirmStep.on_action offers Retry on the confirm step",
    REMINDED: "storage.bookings schedules the reminders with the booking",
    CANCELLED_BOOKING: "my_bookings.my_bookings_action",
    RESCHEDULE: "my_bookings.begin_reschedule starts a booking at its date step",
    SESSION_ENDED: "my_bookings.sign_in_first starts a booking of the sign-in step alone",
}


async def follow(turn: Turn, transition: Transition) -> None:
    """Move the booking in progress along ``transition`` and show where it lands."""
    from bot.engine.booking import abandon
    from bot.engine.steps.base import advance, go_back, go_to, show_current

    target = transition.target
    if target == NEXT:
        await advance(turn)
    elif target == BACK:
        await go_back(turn)
    elif target == IDLE:
        await abandon(turn)
    elif target in (transition.source, ANY):
        await show_current(turn)
    elif target == FIRST:
        await go_to(turn, turn.steps[0].key)
    else:
        await go_to(turn, next(s.key for s in turn.steps if s.kind == target))


def _node(name: str) -> str:
    return name.replace(" ", "_")


def mermaid() -> str:
    lines = ["stateDiagram-v2", "    [*] --> idle"]
    for source, event, target in TRANSITIONS:
        lines.append(f"    {_node(source)} --> {_node(target)}: {event.replace(':', ' -')}")
    return "\n".join(lines) + "\n"


def document() -> str:
    return (
        "# The booking conversation\n\n"
        "Generated from `bot/engine/flow.py` by `python -m bot.engine.flow > docs/conversation.md`."
        " Each provider declares the order of its steps; every step kind behaves as below.\n\n"
        "```mermaid\n" + mermaid() + "```\n"
    )


if __name__ == "__main__":
    print(document(), end="")
