"""``customer``: who the appointment is for. A returning user picks one of their stored fiches
("Book for Anna Martin (me)?") or enters someone new, field by field, as the platform's
customer form asks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from bot.engine.steps.base import StepHandler, advance, nav_row
from bot.engine.turn import MenuButton, Turn
from bot.engine.validation import InvalidInput, clean_field, clean_label, clean_shared_phone
from bot.i18n import N_
from providers.base import CustomerField, FieldRule, ProviderError, Step
from storage.fiches import fiche_details, for_user

PROMPTS = {
    CustomerField.FIRST_NAME: N_(
        "Please type the first name of the person the appointment is for."
    ),
    CustomerField.LAST_NAME: N_("Please type their last name."),
    CustomerField.PHONE: N_(
        "Please share your phone number with the button below, "
        "or type it with the country code (+33 6 12 34 56 78)."
    ),
    CustomerField.EMAIL: N_("Please type an email address for the confirmation."),
    CustomerField.BIRTH_DATE: N_("Please type the date of birth (DD/MM/YYYY)."),
    CustomerField.ADDRESS: N_("Please type the postal address."),
}


class CustomerStep(StepHandler):
    kind: ClassVar[str] = "customer"

    async def _form(self, turn: Turn) -> tuple[list[str], set[str], Mapping[str, FieldRule]]:
        form = await turn.provider.customer_form(turn.selection())
        rules = {f.value: rule for f, rule in form.rules.items()}
        return [f.value for f in form.fields()], {f.value for f in form.required}, rules

    async def _known_people(self, turn: Turn) -> list[dict[str, Any]]:
        """Our stored fiches for this business, plus the platform's own for a signed-in account
        (matched by the platform reference so nobody appears twice)."""
        business_id = turn.services.business_ids[turn.booking["biz"]]
        stored = await for_user(turn.services, turn.event.user_id, business_id)
        people: list[dict[str, Any]] = [
            {"id": f.id, "ref": f.provider_ref, "label": f.label, "details": fiche_details(f)}
            for f in stored
        ]
        if turn.provider.supports_sign_in and turn.booking.get("acct"):
            known_refs = {p["ref"] for p in people if p["ref"]}
            try:
                remote = await turn.provider.fiches(turn.selection())
            except ProviderError:
                remote = []
            for fiche in remote:
                if fiche.provider_ref in known_refs:
                    continue
                details = {
                    f.value: v for f in CustomerField if (v := fiche.customer.get(f)) is not None
                }
                people.append(
                    {
                        "id": None,
                        "ref": fiche.provider_ref,
                        "label": fiche.label,
                        "details": details,
                    }
                )
        return people

    async def show(self, turn: Turn, step: Step) -> None:
        booking = turn.booking
        fields, required, rules = await self._form(turn)
        if "cs" not in booking:
            people = await self._known_people(turn)
            booking["people"] = people
            booking["cs"] = "who" if people else "ask"
            if not people:
                booking["fiche"] = None
        if booking["cs"] == "who":
            rows = []
            for index, person in enumerate(booking["people"]):
                details = person["details"]
                name = f"{details.get('first_name', '')} {details.get('last_name', '')}".strip()
                # A platform fiche's label is often just the name: do not say it twice.
                shown = person["label"] if person["label"] != name else ""
                label = f"{name} ({shown})" if shown else name
                rows.append([MenuButton(turn.t("Book for {name}", name=label), f"b:f:{index}")])
            rows.append([MenuButton(turn.t("➕ Someone else"), "b:new")])
            rows.append(nav_row(turn))
            turn.show(turn.t("Who is this appointment for?"), rows)
            return
        cust: dict[str, str] = booking.setdefault("cust", {})
        missing = [f for f in fields if f not in cust and f not in booking.get("skipped", [])]
        if missing:
            field = CustomerField(missing[0])
            booking["field"] = field.value
            rows = []
            if field.value not in required:
                rows.append([MenuButton(turn.t("Skip"), "b:skip")])
            rows.append(nav_row(turn))
            rule = rules.get(field.value)
            prompt = rule.prompt if rule is not None else PROMPTS[field]
            turn.show(turn.t(prompt), rows, request_contact=field is CustomerField.PHONE)
            return
        booking.pop("field", None)
        if booking.get("fiche") is None and "label" not in booking:
            if not booking.get("people"):
                booking["label"] = turn.t("me")
            else:
                booking["cs"] = "label"
                turn.show(
                    turn.t(
                        "Who is this person to you? Tap “Me” or type a label such as “my daughter”."
                    ),
                    [[MenuButton(turn.t("Me"), "b:me")], nav_row(turn)],
                )
                return
        await advance(turn)

    async def on_action(self, turn: Turn, step: Step, action: str) -> None:
        booking = turn.booking
        if (
            action.startswith("f:")
            and action[2:].isdigit()
            and int(action[2:]) < len(booking.get("people", []))
        ):
            person = booking["people"][int(action[2:])]
            booking.update(
                cs="ask",
                fiche=person["id"],
                fiche_ref=person["ref"],
                label=person["label"],
                cust=dict(person["details"]),
            )
        elif action == "new":
            booking.update(cs="ask", fiche=None, fiche_ref=None, cust={})
            booking.pop("label", None)
        elif action == "skip" and booking.get("field"):
            booking.setdefault("skipped", []).append(booking["field"])
        elif action == "me" and booking.get("cs") == "label":
            booking["label"] = turn.t("me")
        await self.show(turn, step)

    async def on_text(self, turn: Turn, step: Step, text: str) -> None:
        booking = turn.booking
        stage = booking.get("cs")
        try:
            if stage == "ask" and booking.get("field"):
                field = CustomerField(booking["field"])
                rule = (await self._form(turn))[2].get(field.value)
                booking.setdefault("cust", {})[field.value] = clean_field(
                    field, text, turn.now.date(), rule
                )
                if field is CustomerField.PHONE:
                    turn.drafts.append(_remove_keyboard(turn))
            elif stage == "label":
                booking["label"] = clean_label(text)
            else:
                turn.notice("Please use the buttons below.")
        except InvalidInput as invalid:
            turn.notice(invalid.message_id, **invalid.kwargs)
        await self.show(turn, step)

    async def on_contact(self, turn: Turn, step: Step, phone: str) -> None:
        booking = turn.booking
        if booking.get("cs") == "ask" and booking.get("field") == CustomerField.PHONE.value:
            try:
                booking.setdefault("cust", {})["phone"] = clean_shared_phone(phone)
            except InvalidInput as invalid:
                turn.notice(invalid.message_id, **invalid.kwargs)
            turn.drafts.append(_remove_keyboard(turn))
            await self.show(turn, step)
            return
        await self.on_text(turn, step, phone)

    async def on_back(self, turn: Turn, step: Step) -> bool:
        """Back inside the form: from a field to the list of people, if there is one."""
        booking = turn.booking
        if booking.get("cs") in ("ask", "label") and booking.get("people"):
            booking["cs"] = "who"
            booking.pop("field", None)
            await self.show(turn, step)
            return True
        return False

    async def reset(self, turn: Turn, step: Step) -> None:
        # The details typed so far are kept (coming forward again does not ask them twice);
        # only the position inside the form is forgotten.
        for key in ("cs", "field", "people", "skipped"):
            turn.booking.pop(key, None)


def _remove_keyboard(turn: Turn) -> Any:
    from bot.engine.turn import Draft

    draft = Draft(turn.t("Thank you."))
    draft.remove_keyboard = True
    return draft
