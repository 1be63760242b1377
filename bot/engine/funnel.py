"""The booking funnel: which steps a booking conversation reaches for the first time.

A booking started with ``/book`` (or a business's link) is counted as ``started``, then each
step of its flow the first time it is shown (Back and forward again count nothing more),
then ``booked`` when the platform booked it. :attr:`BookingState.furthest` remembers the
furthest step reached; a booking without it (a reschedule, signing in again for a Cancel)
is not a new customer's booking and counts nothing. The steps are collected on the turn
(:attr:`Turn.funnel`) and counted when its state is stored, in the same transaction
(``storage.funnel``), so a turn refused by the version check counts nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.funnel import Reached

if TYPE_CHECKING:
    from bot.engine.turn import Turn

STARTED = "started"
BOOKED = "booked"


def _reach(turn: Turn, step: str, position: int) -> None:
    booking = turn.booking
    services = turn.services
    day = turn.now.astimezone(services.business(booking.business).zone).date()
    turn.funnel.append(Reached(services.business_ids[booking.business], day, step, position))


def started(turn: Turn) -> None:
    """A new customer's booking begins at its first step (positions: ``started`` 0, the
    flow's steps from 1)."""
    booking = turn.booking
    booking.furthest = booking.index
    _reach(turn, STARTED, 0)
    _reach(turn, turn.step.key, booking.index + 1)


def moved_on(turn: Turn) -> None:
    """The booking moved forward: count its step if it was never reached before."""
    booking = turn.booking
    if booking.furthest is None or booking.index <= booking.furthest:
        return
    booking.furthest = booking.index
    _reach(turn, turn.step.key, booking.index + 1)


def booked(turn: Turn) -> None:
    """The platform booked it (before the booking state is dropped)."""
    if turn.booking.furthest is not None:
        _reach(turn, BOOKED, len(turn.booking.flow) + 1)


__all__ = ["BOOKED", "STARTED", "booked", "moved_on", "started"]
