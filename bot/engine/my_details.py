"""``/mydetails``: the people this user stored details for, and deleting them."""

from __future__ import annotations

from bot.engine.turn import MenuButton, Turn
from storage import fiches as fiche_store


async def my_details(turn: Turn) -> None:
    """The people this user stored details for, each with a Delete button."""
    fiches = await fiche_store.all_for_user(turn.services, turn.event.user_id)
    if not fiches:
        turn.show(turn.t("You have no stored details."))
        return
    lines, rows = [], []
    for fiche in fiches:
        slug = turn.services.business_slugs.get(fiche.business_id)
        business = turn.services.config.business(slug) if slug else None
        who = f"{fiche.first_name} {fiche.last_name}".strip()
        label = f"{who} ({fiche.label})" if fiche.label else who
        lines.append(f"• {label} — {business.name if business else '?'}")
        rows.append([MenuButton(turn.t("🗑 Delete {name}", name=label), f"f:d:{fiche.id}")])
    turn.show(turn.t("The details you stored for your bookings:") + "\n\n" + "\n".join(lines), rows)


async def my_details_action(turn: Turn, action: str) -> None:
    """A /mydetails button: delete (asked, then done) a stored fiche."""
    parsed = turn.id_action(action)
    if parsed is None:
        return
    kind, fiche_id = parsed
    if kind == "d":
        turn.show(
            turn.t("Delete these details? Your appointments are kept."),
            [
                [MenuButton(turn.t("Yes, delete them"), f"f:dd:{fiche_id}")],
                [MenuButton(turn.t("No, keep them"), "f:list:0")],
            ],
        )
    elif kind == "dd":
        # Ownership is checked in the deleting transaction itself.
        turn.writes.append(fiche_store.forget(fiche_id, turn.event.user_id))
        turn.show(turn.t("Your details were deleted."))
    else:
        await my_details(turn)
