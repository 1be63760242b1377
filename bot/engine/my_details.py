"""``/mydetails``: the people this user stored details for, with their phone and email;
editing a field (the next message is the new value, validated like the booking's customer
step) and deleting them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.engine.turn import MenuButton, Turn
from bot.engine.validation import (
    InvalidInput,
    clean_field,
    phone_region,
    readable_phone,
)
from bot.i18n import N_
from providers.base import CustomerField
from storage import fiches as fiche_store
from storage.fiches import FicheView

#: the edit buttons' kinds, by field
_EDIT_KINDS = {"ef": "first_name", "el": "last_name", "ep": "phone", "em": "email"}
_FIELD_NAMES = {
    "first_name": N_("First name"),
    "last_name": N_("Last name"),
    "phone": N_("Phone"),
    "email": N_("Email"),
}


async def my_details(turn: Turn, changed: tuple[int, str, str] | None = None) -> None:
    """The people this user stored details for, with Edit and Delete buttons. ``changed``:
    an edit this turn writes (fiche, field, value), shown as it will be stored."""
    fiches = await fiche_store.all_for_user(turn.services, turn.event.user_id)
    if not fiches:
        turn.show(turn.t("You have no stored details."))
        return
    lines, rows = [], []
    for fiche in fiches:
        if changed is not None and changed[0] == fiche.id:
            edited: dict[str, Any] = {changed[1]: changed[2]}
            fiche = replace(fiche, **edited)
        slug = turn.services.business_slugs.get(fiche.business_id)
        business = turn.services.config.business(slug) if slug else None
        label = _label(fiche)
        contact = [readable_phone(fiche.phone) if fiche.phone else "", fiche.email or ""]
        line = f"• {label} — {business.name if business else '?'}"
        lines.append(" · ".join([line, *(c for c in contact if c)]))
        rows.append([MenuButton(turn.t("✏ Edit {name}", name=label), f"f:e:{fiche.id}")])
        rows.append([MenuButton(turn.t("🗑 Delete {name}", name=label), f"f:d:{fiche.id}")])
    turn.show(turn.t("The details you stored for your bookings:") + "\n\n" + "\n".join(lines), rows)


def _label(fiche: FicheView) -> str:
    who = f"{fiche.first_name} {fiche.last_name}".strip()
    return f"{who} ({fiche.label})" if fiche.label else who


async def _owned(turn: Turn, fiche_id: int) -> FicheView | None:
    fiches = await fiche_store.all_for_user(turn.services, turn.event.user_id)
    return next((f for f in fiches if f.id == fiche_id), None)


async def edit_text(turn: Turn, text: str) -> None:
    """The new value of the field being edited: validated, then stored (or asked again)."""
    editing = turn.state.editing or {}
    fiche = await _owned(turn, int(editing.get("fiche", -1)))
    field = str(editing.get("field", ""))
    if fiche is None or field not in fiche_store.EDITABLE:
        turn.state.editing = None
        await my_details(turn)
        return
    slug = turn.services.business_slugs.get(fiche.business_id)
    business = turn.services.config.business(slug) if slug else None
    region = phone_region(business.zone) if business else None
    try:
        value = clean_field(CustomerField(field), text, turn.now.date(), region)
    except InvalidInput as bad:
        turn.show(turn.t(bad.message_id, **bad.kwargs))  # still editing: send it again
        return
    turn.state.editing = None
    turn.writes.append(fiche_store.update_field(fiche.id, turn.event.user_id, field, value))
    turn.notice("Saved.")
    await my_details(turn, changed=(fiche.id, field, value))


async def my_details_action(turn: Turn, action: str) -> None:
    """A /mydetails button: delete (asked, then done) a stored fiche."""
    parsed = turn.id_action(action)
    if parsed is None:
        return
    kind, fiche_id = parsed
    if kind == "e" or kind in _EDIT_KINDS:
        fiche = await _owned(turn, fiche_id)
        if fiche is None:
            turn.alert = turn.t("This menu has expired.")
        elif kind == "e":
            rows = [
                [MenuButton(turn.t(_FIELD_NAMES[field]), f"f:{code}:{fiche_id}")]
                for code, field in _EDIT_KINDS.items()
            ]
            rows.append([MenuButton(turn.t("« Back"), "f:list:0")])
            turn.show(turn.t("What would you like to change for {name}?", name=_label(fiche)), rows)
        else:
            field = _EDIT_KINDS[kind]
            turn.state.editing = {"fiche": fiche_id, "field": field}
            turn.show(
                turn.t("Send the new value: {field}.", field=turn.t(_FIELD_NAMES[field])),
                [[MenuButton(turn.t("« Back"), "f:list:0")]],
            )
    elif kind == "d":
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
        turn.state.editing = None
        await my_details(turn)
