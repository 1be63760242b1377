"""``sign_in``: the customer's account on the platform (ClicRDV, ClickBook).

The password is read from the user's message, that message is deleted from the chat, and the
password is handed to the adapter and dropped: it is never put in the conversation state, a
log line or an error text. The adapter keeps the session in memory.
"""

from __future__ import annotations

from typing import ClassVar

from bot.engine.flow import SIGNED_IN, WRONG_PASSWORD, follow
from bot.engine.state import Account as StoredAccount
from bot.engine.steps import sign_up
from bot.engine.steps.base import StepHandler, nav_row
from bot.engine.turn import MenuButton, Turn
from bot.engine.validation import InvalidInput, clean_email
from providers.base import Account, AuthFailed, Step

MAX_PASSWORD = 256
#: The stages of a registration form (:mod:`bot.engine.steps.sign_up`).
FORM_STAGES = ("form", "new_password", "repeat_password")


def stored_account(account: Account) -> StoredAccount:
    """The account as the conversation state keeps it."""
    stored: StoredAccount = {
        "ref": account.ref,
        "email": account.email,
        "name": account.display_name,
    }
    if account.staff:
        stored["staff"] = True
    return stored


class SignInStep(StepHandler):
    kind: ClassVar[str] = "sign_in"

    async def show(self, turn: Turn, step: Step) -> None:
        booking = turn.booking
        if booking.account:
            await follow(turn, SIGNED_IN)
            return
        stage = booking.sign_in_stage or "start"
        if stage in FORM_STAGES:
            form = await turn.provider.sign_up_form(turn.selection())
            if form is not None:
                await sign_up.show(turn, form)
                return
            stage = booking.sign_in_stage = "signup"
        if stage == "start":
            turn.show(
                turn.t(
                    "To book, please sign in to your account with {business}.",
                    business=turn.business.name,
                ),
                [
                    [MenuButton(turn.t("I have an account"), "b:si")],
                    [MenuButton(turn.t("Create an account"), "b:su")],
                    nav_row(turn),
                ],
            )
        elif stage in ("email", "signup"):
            turn.show(turn.t("Please type your email address."), [nav_row(turn)])
        else:
            turn.show(
                turn.t(
                    "Please type your password for {email}. "
                    "The message will be deleted from this chat at once.",
                    email=booking.email or "",
                ),
                [nav_row(turn)],
            )

    async def on_action(self, turn: Turn, step: Step, action: str) -> None:
        if turn.booking.sign_in_stage in FORM_STAGES:
            form = await turn.provider.sign_up_form(turn.selection())
            if form is not None:
                await sign_up.on_action(turn, form, action)
                return
        if action == "si":
            turn.booking.sign_in_stage = "email"
        elif action == "su":
            turn.booking.sign_in_stage = "signup"
        await self.show(turn, step)

    async def on_text(self, turn: Turn, step: Step, text: str) -> None:
        stage = turn.booking.sign_in_stage or "start"
        if stage in FORM_STAGES:
            form = await turn.provider.sign_up_form(turn.selection())
            if form is not None:
                await sign_up.on_text(turn, form, text)
                return
        if stage in ("email", "signup"):
            await self._on_email(turn, step, text, signing_up=stage == "signup")
        elif stage == "password":
            await self._on_password(turn, step, text)
        else:
            await super().on_text(turn, step, text)

    async def _on_email(self, turn: Turn, step: Step, text: str, *, signing_up: bool) -> None:
        """The email typed to sign in (then the password is asked) or to sign up."""
        try:
            email = clean_email(text)
        except InvalidInput as invalid:
            turn.notice(invalid.message_id, **invalid.kwargs)
            await self.show(turn, step)
            return
        turn.booking.email = email
        if signing_up:
            await self._sign_up(turn, step, email)
            return
        turn.booking.sign_in_stage = "password"
        await self.show(turn, step)

    async def _sign_up(self, turn: Turn, step: Step, email: str) -> None:
        """Create the account: through the platform's form when it has one, else at once."""
        booking = turn.booking
        form = await turn.provider.sign_up_form(turn.selection())
        if form is not None:
            booking.customer = {**(booking.customer or {}), "email": email}
            await sign_up.begin(turn, form)
            return
        try:
            account = await turn.provider.sign_up(turn.selection(), email)
        except AuthFailed as refused:
            turn.notice(refused.message or "This account could not be created.")
            booking.sign_in_stage = "start"
            await self.show(turn, step)
            return
        booking.account = stored_account(account)
        turn.notice("Your account was created. Check your inbox to choose a password.")
        await follow(turn, SIGNED_IN)

    async def _on_password(self, turn: Turn, step: Step, text: str) -> None:
        """The password for the email given before: sign in, then go on with the booking (or
        the Cancel or Change that asked for signing in again)."""
        booking = turn.booking
        # The message holds a password: it goes, whatever happens next.
        turn.delete_user_message = True
        password = text.strip()
        if not password or len(password) > MAX_PASSWORD:
            turn.notice("Please type your password.")
            await self.show(turn, step)
            return
        try:
            account = await turn.provider.sign_in(turn.selection(), booking.email or "", password)
        except AuthFailed as refused:
            # The platform's reason when it gave one (a locked account is not a typo).
            turn.notice(
                refused.message or "The email or password was not accepted. Please try again."
            )
            await follow(turn, WRONG_PASSWORD)
            return
        finally:
            del password
        booking.account = stored_account(account)
        booking.sign_in_stage = None
        turn.notice("Signed in as {email}.", email=account.email)
        if booking.then is not None:
            # Signing in again for a Cancel or Change (see my_bookings.sign_in_first).
            from bot.engine.my_bookings import resume_after_sign_in

            await resume_after_sign_in(turn)
            return
        await follow(turn, SIGNED_IN)

    async def on_contact(self, turn: Turn, step: Step, phone: str) -> None:
        if turn.booking.sign_in_stage == "form":
            form = await turn.provider.sign_up_form(turn.selection())
            if form is not None:
                await sign_up.on_text(turn, form, phone, shared=True)
                return
        await self.on_text(turn, step, phone)

    async def on_back(self, turn: Turn, step: Step) -> bool:
        booking = turn.booking
        if booking.then is not None and booking.sign_in_stage == "email":
            return False  # signing in again for a Cancel: no account to create instead
        if booking.sign_in_stage in FORM_STAGES:
            # Out of the registration form; what was answered is kept for a second go.
            booking.sign_in_stage, booking.password_check, booking.options = "start", None, None
            await self.show(turn, step)
            return True
        if (booking.sign_in_stage or "start") != "start":
            booking.sign_in_stage = "email" if booking.sign_in_stage == "password" else "start"
            await self.show(turn, step)
            return True
        return False

    async def reset(self, turn: Turn, step: Step) -> None:
        booking = turn.booking
        booking.sign_in_stage = booking.email = None
        booking.signup = booking.password_check = None
