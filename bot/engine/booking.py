"""Starting and dropping the booking in progress (the ``b`` part of the state)."""

from __future__ import annotations

from typing import Any

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


async def start_booking(
    turn: Turn,
    slug: str,
    *,
    prefilled: dict[str, Any] | None = None,
    skip_kinds: tuple[str, ...] = (),
    first_kind: str | None = None,
) -> None:
    """Start a booking with ``slug``'s provider (dropping one in progress).

    A reschedule starts at the ``date`` step with the old choices, and without the steps
    that collect who the appointment is for (``skip_kinds``).
    """
    await abandon(turn)
    provider = turn.services.providers[slug]
    selection = Selection(language=turn.language, user_key=f"tg:{turn.event.user_id}")
    steps = [s for s in await provider.flow(selection) if s.kind not in skip_kinds]
    first = next((i for i, s in enumerate(steps) if s.kind == first_kind), 0)
    turn.data["b"] = {"biz": slug, "flow": [s.to_json() for s in steps], "i": first, "ch": {}}
    if prefilled:
        turn.booking.update(prefilled)
    await show_current(turn)


async def abandon(turn: Turn) -> None:
    """Drop the booking in progress, releasing any hold it owns."""
    if turn.in_booking:
        await release_hold(turn)
        turn.data.pop("b", None)
