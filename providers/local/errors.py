"""The one place where the local calendar's database outcomes become domain errors.

In the adapter template ``errors.py`` maps the platform's answers to :mod:`providers.errors`;
the local calendar's answers are the database's: a unique-constraint violation on the claimed
blocks means the slot went meanwhile (:class:`~providers.errors.SlotTaken`), an update that
changed no row means the appointment is gone or no longer confirmed
(:class:`~providers.errors.NotFound`), and a reference that is not one of our ids names nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import IntegrityError

from providers.errors import NotFound, SlotTaken


@contextmanager
def claiming_blocks() -> Iterator[None]:
    """Around a transaction that claims blocks: another booking's claim on one of them (the
    unique constraint) becomes :class:`SlotTaken`."""
    try:
        yield
    except IntegrityError:
        raise SlotTaken() from None


def require_one_changed(result: Any, message: str) -> None:
    """An update of one confirmed appointment that changed no row: :class:`NotFound`, with
    ``message`` (a diagnostic, or an ``N_`` text the user sees)."""
    if int(getattr(result, "rowcount", 0)) != 1:
        raise NotFound(message)


def appointment_id(booking_ref: str) -> int:
    """Our appointment id in a booking reference; anything else names no booking."""
    if not booking_ref.isdigit():
        raise NotFound("unknown booking")
    return int(booking_ref)
