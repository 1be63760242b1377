"""``customer``: who the appointment is for. A returning user picks one of their stored fiches
("Book for Anna Martin (me)?") or enters someone new, field by field, as the platform's
customer form asks."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from bot.engine.flow import CUSTOMER_KNOWN, INVALID_FIELD, follow
from bot.engine.state import Person
from bot.engine.steps.base import StepHandler, nav_row
from bot.engine.turn import Draft, MenuButton, Turn
from bot.engine.validation import (
    InvalidInput,
    clean_field,
    clean_label,
    clean_shared_phone,
    phone_example,
    phone_region,
    readable_phone,
)
from bot.i18n import N_, format_date
from providers.base import CustomerField, ProviderError, Step
from storage.fiches import fiche_details, for_user

PROMPTS = {
    CustomerField.FIRST_NAME: N_(
        "Please type the first name of the person the appointment is for."
    ),
    CustomerField.LAST_NAME: N_("Please type their last name."),
    CustomerField.PHONE: N_(
        "Please share your phone number with the button below, or type it, for example {example}."
    ),
    CustomerField.EMAIL: N_("Please type an email address for the confirmation."),
    CustomerField.BIRTH_DATE: N_("Please type the date of birth (DD/MM/YYYY)."),
    CustomerField.ADDRESS: N_("Please type the postal address."),
}


#: what each detail is called on the review screen and the summary
FIELD_NAMES = {
    CustomerField.FIRST_NAME: N_("First name"),
    CustomerField.LAST_NAME: N_("Last name"),
    CustomerField.PHONE: N_("Phone"),
    CustomerField.EMAIL: N_("Email"),
    CustomerField.BIRTH_DATE: N_("Date of birth"),
    CustomerField.PERSONAL_ID: N_("Personal identifier"),
    CustomerField.ADDRESS: N_("Address"),
}


class CustomerStep(StepHandler):
    kind: ClassVar[str] = "customer"

    async def _form(self, turn: Turn) -> tuple[list[str], set[str]]:
        form = await turn.provider.customer_form(turn.selection())
        return [f.value for f in form.fields()], {f.value for f in form.required}

    async def _known_people(self, turn: Turn) -> list[Person]:
        """Our stored fiches for this business, plus the platform's own for a signed-in account
        (matched by the platform reference so nobody appears twice)."""
        business_id = turn.services.business_ids[turn.booking.business]
        stored = await for_user(turn.services, turn.event.user_id, business_id)
        people: list[Person] = [
            {"id": f.id, "ref": f.provider_ref, "label": f.label, "details": fiche_details(f)}
            for f in stored
        ]
        if turn.provider.supports_sign_in and turn.booking.account:
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
        fields, required = await self._form(turn)
        if booking.customer_stage is None:
            people = await self._known_people(turn)
            booking.people = people
            booking.customer_stage = "who" if people else "ask"
            if not people:
                booking.fiche = None
        if booking.customer_stage == "who":
            _show_people(turn)
            return
        cust, skipped = _details(turn), booking.skipped or []
        if booking.asking not in (None, *fields) or booking.editing not in (None, *fields):
            # A detail the form no longer lists (a state stored while Qmatic still asked a
            # personal identifier): ask what the form lists instead.
            booking.asking = booking.editing = None
        if booking.editing:
            field = CustomerField(booking.editing)
            _ask(turn, field, field.value not in required, cust.get(field.value))
            return
        if booking.customer_stage == "review":
            booking.asking = None
            _show_review(turn, fields)
            return
        missing = [f for f in fields if f not in cust and f not in skipped]
        if missing:
            _ask(turn, CustomerField(missing[0]), missing[0] not in required)
            return
        booking.asking = None
        if booking.fiche_id is None and booking.label is None:
            if not booking.people:
                # A staff member books for a client, who is not "me".
                staff = bool(booking.account and booking.account.get("staff"))
                booking.label = "" if staff else turn.t("me")
            else:
                booking.customer_stage = "label"
                turn.show(
                    turn.t(
                        "Who is this person to you? Tap “Me” or type a label such as “my daughter”."
                    ),
                    [[MenuButton(turn.t("Me"), "b:me")], nav_row(turn)],
                )
                return
        await follow(turn, CUSTOMER_KNOWN)

    async def on_action(self, turn: Turn, step: Step, action: str) -> None:
        booking = turn.booking
        people = booking.people or []
        if action.startswith("f:") and action[2:].isdigit() and int(action[2:]) < len(people):
            person = people[int(action[2:])]
            booking.customer_stage = "ask"
            booking.fiche, booking.fiche_ref = person["id"], person["ref"]
            booking.label = person["label"]
            booking.customer = dict(person["details"])
        elif action == "new":
            booking.customer_stage = "ask"
            booking.fiche = booking.fiche_ref = None
            booking.customer = {}
            booking.label = None
        elif action.startswith("e:") and action[2:] in (await self._form(turn))[0]:
            booking.editing = action[2:]
        elif action == "keep":
            booking.editing = None
        elif action == "done" and booking.customer_stage == "review":
            booking.customer_stage, booking.editing = "ask", None
        elif action == "skip" and booking.asking:
            _details(turn).pop(booking.asking, None)
            booking.skipped = [*(booking.skipped or []), booking.asking]
            booking.editing = None
        elif action == "me" and booking.customer_stage == "label":
            booking.label = turn.t("me")
        await self.show(turn, step)

    async def on_text(self, turn: Turn, step: Step, text: str) -> None:
        booking = turn.booking
        stage = booking.customer_stage
        try:
            asking = booking.asking
            if stage in ("ask", "review") and asking and asking in (await self._form(turn))[0]:
                field = CustomerField(asking)
                region = phone_region(turn.business.zone, turn.business.country)
                _details(turn)[field.value] = clean_field(field, text, turn.now.date(), region)
                _answered(turn, field.value)
                if field is CustomerField.PHONE:
                    turn.drafts.append(_remove_keyboard(turn))
            elif stage == "label":
                booking.label = clean_label(text)
            else:
                turn.notice("Please use the buttons below.")
        except InvalidInput as invalid:
            turn.notice(invalid.message_id, **invalid.kwargs)
            await follow(turn, INVALID_FIELD)
            return
        await self.show(turn, step)

    async def on_contact(self, turn: Turn, step: Step, phone: str) -> None:
        booking = turn.booking
        asking_phone = booking.asking == CustomerField.PHONE.value
        if booking.customer_stage in ("ask", "review") and asking_phone:
            try:
                _details(turn)["phone"] = clean_shared_phone(phone)
                _answered(turn, "phone")
            except InvalidInput as invalid:
                turn.notice(invalid.message_id, **invalid.kwargs)
            turn.drafts.append(_remove_keyboard(turn))
            await self.show(turn, step)
            return
        await self.on_text(turn, step, phone)

    async def on_back(self, turn: Turn, step: Step) -> bool:
        """Back inside the form: from a detail to the one before it (asked again, to correct
        it), from a detail being corrected in the review to the review, from the first detail
        to the list of people, if there is one."""
        booking = turn.booking
        stage = booking.customer_stage
        if stage == "review" and booking.editing:
            booking.editing = None
            await self.show(turn, step)
            return True
        if stage == "ask" and booking.asking:
            fields = (await self._form(turn))[0]
            here = fields.index(booking.asking) if booking.asking in fields else len(fields)
            cust, skipped = _details(turn), booking.skipped or []
            earlier = [f for f in fields[:here] if f in cust or f in skipped]
            if earlier:
                booking.editing = earlier[-1]
                await self.show(turn, step)
                return True
        if stage in ("ask", "label") and booking.people:
            booking.customer_stage = "who"
            booking.asking = booking.editing = None
            await self.show(turn, step)
            return True
        return False

    async def reset(self, turn: Turn, step: Step) -> None:
        # The details typed so far are kept (coming forward again does not ask them twice);
        # only the position inside the form is forgotten.
        booking = turn.booking
        booking.customer_stage = booking.asking = booking.people = booking.skipped = None
        booking.editing = None


def _show_people(turn: Turn) -> None:
    """ "Book for Anna Martin (me)?": the stored people, and someone else."""
    rows = []
    for index, person in enumerate(turn.booking.people or []):
        details = person["details"]
        name = f"{details.get('first_name', '')} {details.get('last_name', '')}".strip()
        # A platform fiche's label is often just the name: do not say it twice.
        shown = person["label"] if person["label"] != name else ""
        label = f"{name} ({shown})" if shown else name
        rows.append([MenuButton(turn.t("Book for {name}", name=label), f"b:f:{index}")])
    rows.append([MenuButton(turn.t("➕ Someone else"), "b:new")])
    rows.append(nav_row(turn))
    turn.show(turn.t("Who is this appointment for?"), rows)


def _ask(
    turn: Turn,
    field: CustomerField,
    optional: bool,
    current: str | None = None,
) -> None:
    """Ask for ``field``; ``current``: its value, when it is asked again to be corrected."""
    turn.booking.asking = field.value
    rows = []
    if current is not None:
        rows.append([MenuButton(turn.t("Keep it"), "b:keep")])
    if optional:
        rows.append([MenuButton(turn.t("Skip"), "b:skip")])
    rows.append(nav_row(turn))
    if field is CustomerField.PHONE:
        business = turn.business
        example = phone_example(phone_region(business.zone, business.country))
        text = turn.t(PROMPTS[field], example=example)
    else:
        text = turn.t(PROMPTS[field])
    if current is not None:
        now = turn.t("Now: {value}", value=shown_detail(field, current, turn.language))
        text = now + "\n" + text
    turn.show(text, rows, request_contact=field is CustomerField.PHONE)


def _show_review(turn: Turn, fields: list[str]) -> None:
    """The details typed so far, each with a button to correct it, and Done."""
    rows = [[MenuButton("✏️ " + turn.t(FIELD_NAMES[CustomerField(f)]), f"b:e:{f}")] for f in fields]
    rows.append([MenuButton(turn.t("✅ Done"), "b:done")])
    rows.append(nav_row(turn))
    lines = detail_lines(turn, fields)
    turn.show(turn.t("Your details. Tap one to change it:") + "\n\n" + "\n".join(lines), rows)


def _answered(turn: Turn, field: str) -> None:
    """``field`` now has a value: no longer skipped, no longer being corrected."""
    booking = turn.booking
    if booking.skipped and field in booking.skipped:
        booking.skipped = [f for f in booking.skipped if f != field] or None
    booking.editing = None


def shown_detail(field: CustomerField, value: str, language: str) -> str:
    """A stored detail as the customer reads it (a phone number grouped, a date in words)."""
    if field is CustomerField.PHONE:
        return readable_phone(value)
    if field is CustomerField.BIRTH_DATE:
        try:
            return format_date(date.fromisoformat(value), language)
        except ValueError:
            return value
    return value


def detail_lines(turn: Turn, fields: list[str] | None = None) -> list[str]:
    """ "Phone: +33 6 12 34 56 78", one line per detail the booking has (in ``fields``'
    order, or the engine's)."""
    cust = turn.booking.customer or {}
    order = fields if fields is not None else [f.value for f in CustomerField]
    return [
        turn.t(
            "{field}: {value}",
            field=turn.t(FIELD_NAMES[CustomerField(f)]),
            value=shown_detail(CustomerField(f), cust[f], turn.language),
        )
        for f in order
        if cust.get(f)
    ]


def _details(turn: Turn) -> dict[str, str]:
    """The details typed so far for the person the booking is for."""
    booking = turn.booking
    if booking.customer is None:
        booking.customer = {}
    return booking.customer


def _remove_keyboard(turn: Turn) -> Draft:
    draft = Draft(turn.t("Thank you."))
    draft.remove_keyboard = True
    return draft
