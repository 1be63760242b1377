"""Starting and dropping the booking in progress (:attr:`ConversationState.booking`)."""

from __future__ import annotations

from bot.engine import funnel
from bot.engine.flow import CANCELLED, follow
from bot.engine.state import BookingState
from bot.engine.steps.base import show_current
from bot.engine.steps.slot import release_hold
from bot.engine.turn import MenuButton, Turn
from providers.base import Selection


async def begin(turn: Turn, slug: str | None) -> None:
    """Start booking with ``slug``, the only business, or ask where (several businesses)."""
    businesses = turn.services.config.businesses
    if slug is None and len(businesses) == 1:
        slug = businesses[0].slug
    if slug is None:
        await abandon(turn)
        rows = [[MenuButton(b.name, f"s:{b.slug}")] for b in businesses]
        turn.show(turn.t("Where would you like to book?"), rows)
        return
    await start_booking(turn, slug)


async def start_booking(turn: Turn, slug: str) -> None:
    """Start a booking with ``slug``'s provider (dropping one in progress) and show its first
    step: a new customer's booking, counted in the funnel."""
    await new_booking(turn, slug)
    funnel.started(turn)
    await show_current(turn)


async def new_booking(
    turn: Turn,
    slug: str,
    *,
    skip_kinds: tuple[str, ...] = (),
    first_kind: str | None = None,
    only_kind: str | None = None,
) -> BookingState:
    """A booking with ``slug``'s provider in place of the one in progress (not shown yet).

    A reschedule starts at the ``date`` step (``first_kind``), without the steps that collect
    who the appointment is for (``skip_kinds``); the caller fills in the old choices. Signing
    in again for a Cancel or Change is a booking of the ``sign_in`` step alone (``only_kind``).
    """
    await abandon(turn)
    provider = turn.services.providers[slug]
    selection = Selection(language=turn.language, user_key=f"tg:{turn.event.user_id}")
    steps = [
        s
        for s in await provider.flow(selection)
        if s.kind not in skip_kinds and only_kind in (None, s.kind)
    ]
    first = next((i for i, s in enumerate(steps) if s.kind == first_kind), 0)
    booking = BookingState(
        business=slug, flow=[s.to_json() for s in steps], index=first, choices={}
    )
    turn.state.booking = booking
    return booking


async def cancel_in_progress(turn: Turn) -> None:
    """Cancel (the button) or /cancel: drop the booking in progress and say what that means.
    Dropping a Change leaves the appointment where it was, and the user is told so."""
    changing = turn.booking.rescheduling is not None
    signing_in_to_cancel = turn.booking.then is not None
    await follow(turn, CANCELLED)
    if signing_in_to_cancel:
        turn.show(turn.t("Your appointment is kept."))
    elif changing:
        turn.show(turn.t("The change is cancelled: your appointment is kept at its time."))
    else:
        turn.show(turn.t("Booking cancelled. Send /book to start again."))


def has_progress(turn: Turn) -> bool:
    """Whether starting over would lose something: an answer of the user's, or a Change."""
    booking = turn.booking
    return booking.rescheduling is not None or any(
        not choice.auto for choice in booking.choices.values()
    )


async def ask_restart(turn: Turn, slug: str | None) -> None:
    """/book during a booking: continue it, or start over (with ``slug`` when named)."""
    restart = f"s:{slug}" if slug else "b:restart"
    turn.show(
        turn.t("You have a booking in progress. Continue it, or start over?"),
        [
            [MenuButton(turn.t("Continue my booking"), "b:resume")],
            [MenuButton(turn.t("Start over"), restart)],
        ],
    )


async def abandon(turn: Turn) -> None:
    """Drop the booking in progress, releasing any hold it owns."""
    if turn.in_booking:
        await release_hold(turn)
        turn.state.booking = None
