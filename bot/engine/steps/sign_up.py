"""The ``sign_in`` step's self-registration form, for platforms that publish one (ClickBook's
NewUserRegistration): the adapter's :class:`~providers.base.SignUpForm`, asked field by field
after the email, the password last and twice.

Why apart from ``sign_in.py``: the form is a small walk of its own (details, choices with a
search, terms, two passwords) that only registration needs. Customer details are checked as
the ``customer`` step checks them and fill the booking's details too, so they are not asked
twice. Each password message is deleted at once; between the two, the state holds only an HMAC
of the first under a key made at start-up and kept in this process's memory (after a restart, or
on another worker, the comparison fails and the user is asked to choose the password again).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from bot.engine.flow import SIGNED_IN, WRONG_PASSWORD, follow
from bot.engine.state import OfferedOption
from bot.engine.steps.base import nav_row
from bot.engine.steps.customer import PROMPTS
from bot.engine.turn import MenuButton, Turn
from bot.engine.validation import InvalidInput, clean_field, clean_shared_phone, phone_region
from bot.i18n import N_
from providers.base import (
    Account,
    AuthFailed,
    CustomerField,
    InvalidCustomerData,
    Refusal,
    SignUpField,
    SignUpForm,
)

MIN_PASSWORD, MAX_PASSWORD = 8, 256
#: How many matches of a typed search are offered as buttons.
MAX_MATCHES = 8
_DIGEST_KEY = secrets.token_bytes(32)
CREATED = N_("Your account was created. You are signed in as {email}.")


def _digest(turn: Turn, password: str) -> str:
    message = f"{turn.event.user_id}:{password}".encode()
    return hmac.new(_DIGEST_KEY, message, hashlib.sha256).hexdigest()


def _next_field(turn: Turn, form: SignUpForm) -> SignUpField | None:
    answers = turn.booking.signup or {}
    return next((f for f in form.fields if f.kind != "password" and f.key not in answers), None)


async def begin(turn: Turn, form: SignUpForm) -> None:
    """The email is known: walk the form."""
    booking = turn.booking
    booking.signup = booking.signup or {}
    booking.sign_in_stage = "form"
    await show(turn, form)


async def show(turn: Turn, form: SignUpForm) -> None:
    booking = turn.booking
    if booking.sign_in_stage == "form":
        field = _next_field(turn, form)
        if field is not None:
            _ask(turn, field)
            return
        booking.sign_in_stage = "new_password"
    if booking.sign_in_stage == "new_password":
        turn.show(
            turn.t(
                "Please choose a password for your new account (at least {count} characters). "
                "The message will be deleted from this chat at once.",
                count=MIN_PASSWORD,
            ),
            [nav_row(turn)],
        )
    else:
        turn.show(
            turn.t("Please type the same password again. It will be deleted at once too."),
            [nav_row(turn)],
        )


def _ask(turn: Turn, field: SignUpField) -> None:
    booking = turn.booking
    if field.kind == "detail" and field.customer_field is not None:
        turn.show(
            turn.t(PROMPTS[field.customer_field]),
            [nav_row(turn)],
            request_contact=field.customer_field is CustomerField.PHONE,
        )
        return
    if field.kind == "agree":
        prompt = field.prompt or N_("Please accept the terms: {link}")
        turn.show(
            turn.t(prompt, link=field.link or ""),
            [[MenuButton(turn.t("I agree"), "b:agree")], nav_row(turn)],
        )
        return
    # A choice: the default (or every option, when there are few) as buttons, a search by text.
    offered = booking.options
    if offered is None:
        shown = [o for o in field.options if o.id == field.default]
        if len(field.options) <= MAX_MATCHES:
            shown = list(field.options)
        offered = booking.options = [{"id": o.id, "label": o.label} for o in shown]
    rows = [[MenuButton(o["label"], f"b:sf:{i}")] for i, o in enumerate(offered)]
    turn.show(turn.t(field.prompt or N_("Please choose.")), [*rows, nav_row(turn)])


async def on_action(turn: Turn, form: SignUpForm, action: str) -> None:
    booking = turn.booking
    field = _next_field(turn, form) if booking.sign_in_stage == "form" else None
    answers = booking.signup if booking.signup is not None else {}
    if field is not None and field.kind == "agree" and action == "agree":
        answers[field.key] = "1"
    elif field is not None and field.kind == "choice" and action.startswith("sf:"):
        offered = booking.options or []
        index = action[3:]
        if index.isdigit() and int(index) < len(offered):
            answers[field.key] = offered[int(index)]["id"]
            booking.options = None
    booking.signup = answers
    await show(turn, form)


async def on_text(turn: Turn, form: SignUpForm, text: str, *, shared: bool = False) -> None:
    booking = turn.booking
    stage = booking.sign_in_stage
    if stage in ("new_password", "repeat_password"):
        await _password(turn, form, text)
        return
    field = _next_field(turn, form)
    if field is None:
        await show(turn, form)
        return
    answers = booking.signup if booking.signup is not None else {}
    try:
        if field.kind == "detail" and field.customer_field is not None:
            value = (
                clean_shared_phone(text)
                if shared
                else clean_field(
                    field.customer_field,
                    text,
                    turn.now.date(),
                    region=phone_region(turn.business.zone),  # a number typed the national way
                )
            )
            answers[field.key] = value
            booking.customer = {**(booking.customer or {}), field.customer_field.value: value}
        elif field.kind == "choice":
            _search(turn, field, text)
        else:
            turn.notice("Please use the buttons below.")
    except InvalidInput as invalid:
        turn.notice(invalid.message_id, **invalid.kwargs)
    booking.signup = answers
    await show(turn, form)


def _search(turn: Turn, field: SignUpField, text: str) -> None:
    """Offer the options whose label or value contains ``text``; one match is taken."""
    wanted = text.strip().casefold()
    matches = [
        o
        for o in field.options
        if wanted and (wanted in o.label.casefold() or wanted == o.id.casefold())
    ]
    booking = turn.booking
    if len(matches) == 1:
        (booking.signup or {})[field.key] = matches[0].id
        booking.options = None
        return
    if not matches:
        turn.notice("Nothing matches “{text}”. Please try another name.", text=text.strip()[:40])
    elif len(matches) > MAX_MATCHES:
        turn.notice("Many match “{text}”: please type more of the name.", text=text.strip()[:40])
        return
    offered: list[OfferedOption] = [{"id": o.id, "label": o.label} for o in matches]
    booking.options = offered or booking.options


async def _password(turn: Turn, form: SignUpForm, text: str) -> None:
    booking = turn.booking
    turn.delete_user_message = True  # it holds a password: it goes, whatever happens next
    password = text.strip()
    try:
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            turn.notice(
                "Please choose a password of at least {count} characters.", count=MIN_PASSWORD
            )
            booking.sign_in_stage = "new_password"
        elif booking.sign_in_stage == "new_password":
            booking.password_check = _digest(turn, password)
            booking.sign_in_stage = "repeat_password"
        elif not hmac.compare_digest(booking.password_check or "", _digest(turn, password)):
            turn.notice("The two passwords did not match. Please choose a password again.")
            booking.password_check = None
            booking.sign_in_stage = "new_password"
        else:
            await _register(turn, form, password)
            return
    finally:
        del password
    await show(turn, form)


async def _register(turn: Turn, form: SignUpForm, password: str) -> None:
    booking = turn.booking
    email = booking.email or ""
    booking.password_check = None
    try:
        account = await turn.provider.sign_up(
            turn.selection(), email, details=dict(booking.signup or {}), password=password
        )
    except InvalidCustomerData as refused:
        booking.sign_in_stage = "form"
        _forget_refused(turn, form, refused.field)
        turn.notice(
            refused.message
            or "The booking system did not accept this detail. Please type it again."
        )
        await show(turn, form)
        return
    except AuthFailed as refused:
        booking.sign_in_stage = "password" if refused.kind is Refusal.ACCOUNT_EXISTS else "start"
        booking.signup = None
        turn.notice(
            refused.message
            or (
                "An account already exists with this email. Please sign in."
                if refused.kind is Refusal.ACCOUNT_EXISTS
                else "This account could not be created."
            )
        )
        await follow(turn, WRONG_PASSWORD)
        return
    finally:
        del password
    _signed_up(turn, account)
    turn.notice(CREATED, email=account.email)
    await follow(turn, SIGNED_IN)


def _forget_refused(turn: Turn, form: SignUpForm, refused: CustomerField | str) -> None:
    """Drop the answer the platform refused, so that field is asked again."""
    answers = turn.booking.signup or {}
    for field in form.fields:
        if field.key == refused or (
            field.customer_field is not None and field.customer_field == refused
        ):
            answers.pop(field.key, None)


def _signed_up(turn: Turn, account: Account) -> None:
    booking = turn.booking
    from bot.engine.steps.sign_in import stored_account

    booking.account = stored_account(account)
    booking.sign_in_stage = None
    booking.signup = None
