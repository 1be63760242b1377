"""One update being handled: the conversation state, the reply being built, and helpers the
steps share (translation, menus, the booking's selection)."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple, Protocol

from bot.config import BusinessConfig
from bot.engine.state import BookingState, ConversationState
from bot.engine.types import Button, Document, Event, Reply, Screen
from bot.i18n import gettext, ngettext
from providers.base import BookingProvider, Selection, Step
from storage.conversations import ConversationRecord
from storage.funnel import Reached
from storage.types import row_id
from storage.writes import Write

if TYPE_CHECKING:
    from bot.services import Services


class MenuButton(NamedTuple):
    """A button before it gets its token: ``action`` stays on the server, in the state.
    (A named tuple, like :class:`~bot.engine.types.Button`, because screens make many.)"""

    label: str
    action: str


class Checkpoint(Protocol):
    """Stores the state now, before a platform call that must happen once; ``intent``: also
    record the Confirm's booking intent (:mod:`bot.engine.intents`). ``False`` if another
    update changed the conversation first."""

    def __call__(self, *, intent: bool = False) -> Awaitable[bool]: ...


@dataclass
class Draft:
    """A screen being built; buttons carry actions, not yet tokens."""

    text: str
    rows: list[list[MenuButton]] = field(default_factory=list)
    request_contact: bool = False
    remove_keyboard: bool = False
    #: see :attr:`bot.engine.types.Screen.entities`
    entities: tuple[dict[str, object], ...] = ()


@dataclass
class Turn:
    services: Services
    event: Event
    record: ConversationRecord
    #: the conversation's state, decoded from ``record`` (encoded back when the turn is stored)
    state: ConversationState
    now: datetime
    language: str
    drafts: list[Draft] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    alert: str | None = None
    #: see :attr:`bot.engine.types.Reply.alert_dialog`
    alert_dialog: bool = False
    delete_user_message: bool = False
    edit: bool = False
    #: stores the state now, before a platform call that must happen once (see confirm)
    checkpoint: Checkpoint = field(default=lambda *, intent=False: _never())
    #: database writes to make in the transaction that saves this turn's state
    #: (:class:`~storage.writes.Write`)
    writes: list[Write] = field(default_factory=list)
    #: booking steps reached for the first time in this turn, counted with its state
    #: (:mod:`bot.engine.funnel`)
    funnel: list[Reached] = field(default_factory=list)
    #: see :attr:`bot.engine.types.Reply.tapped_keyboard`
    tapped_keyboard: list[list[Button]] | None = None
    #: see :attr:`bot.engine.types.Reply.documents`
    documents: list[Document] = field(default_factory=list)
    #: see :attr:`bot.engine.types.Reply.command_menus`
    command_menus: dict[int, tuple[str, list[tuple[str, str]]]] = field(default_factory=dict)

    def id_action(self, action: str) -> tuple[str, int] | None:
        """A menu action ``<kind>:<id>`` split into its kind and id; ``None``, with "this menu
        has expired" for the user, when the id is not a row id (:func:`storage.types.row_id`).
        Actions are ours, but a row they name may be gone: callers still check it."""
        kind, _, raw_id = action.partition(":")
        parsed = row_id(raw_id)
        if parsed is None:
            self.alert = self.t("This menu has expired.")
            return None
        return kind, parsed

    # -- text ------------------------------------------------------------------------------
    def t(self, message: str, **kwargs: object) -> str:
        return gettext(self.language, message, **kwargs)

    def tn(self, singular: str, plural: str, n: int, **kwargs: object) -> str:
        """The form of ``singular``/``plural`` that the count ``n`` takes in the user's
        language ("sent to 1 customer", "sent to 2 customers")."""
        return ngettext(self.language, singular, plural, n, **kwargs)

    def notice(self, message: str, **kwargs: object) -> None:
        """A line shown above the next screen (an error, a confirmation...)."""
        self.notices.append(self.t(message, **kwargs))

    def show(
        self,
        text: str,
        rows: list[list[MenuButton]] | None = None,
        *,
        request_contact: bool = False,
    ) -> Draft:
        if self.notices:
            text = "\n".join(self.notices) + "\n\n" + text
            self.notices = []
        draft = Draft(text, rows or [], request_contact=request_contact)
        self.drafts.append(draft)
        return draft

    # -- state -----------------------------------------------------------------------------
    @property
    def booking(self) -> BookingState:
        """The booking in progress (created by :func:`bot.engine.booking.start_booking`)."""
        booking = self.state.booking
        if booking is None:  # callers check in_booking first
            raise LookupError("no booking in progress")
        return booking

    @property
    def in_booking(self) -> bool:
        return self.state.booking is not None

    @property
    def business(self) -> BusinessConfig:
        return self.services.business(self.booking.business)

    @property
    def provider(self) -> BookingProvider:
        return self.services.providers[self.booking.business]

    @property
    def steps(self) -> list[Step]:
        return [Step.from_json(s) for s in self.booking.flow]

    @property
    def step(self) -> Step:
        # Only the current step is parsed: this is read several times on every update.
        booking = self.booking
        return Step.from_json(booking.flow[booking.index])

    def selection(self) -> Selection:
        choices = {key: tuple(choice.ids) for key, choice in self.booking.choices.items()}
        return Selection(
            choices=choices, language=self.language, user_key=f"tg:{self.event.user_id}"
        )

    # -- finishing -------------------------------------------------------------------------
    def build_reply(self, version: int) -> tuple[Reply, list[str]]:
        """Turn drafts into screens with tokens ``c<version>.<n>``; return the actions list."""
        actions: list[str] = []
        #: buttons with the same action share one token (a month view has ~20 blank cells)
        tokens: dict[str, str] = {}
        screens: list[Screen] = []
        if self.notices:
            self.show("")  # notices with nothing after them still reach the user
        for draft in self.drafts:
            rows: list[list[Button]] = []
            for row in draft.rows:
                buttons: list[Button] = []
                for button in row:
                    token = tokens.get(button.action)
                    if token is None:
                        token = tokens[button.action] = f"c{version}.{len(actions)}"
                        actions.append(button.action)
                    buttons.append(Button(button.label, token))
                rows.append(buttons)
            screens.append(
                Screen(
                    draft.text.strip(),
                    rows,
                    request_contact=draft.request_contact,
                    remove_keyboard=draft.remove_keyboard,
                    entities=draft.entities,
                )
            )
        reply = Reply(
            screens=screens,
            edit=self.edit,
            alert=self.alert,
            alert_dialog=self.alert_dialog,
            delete_user_message=self.delete_user_message,
            language=self.language,
            tapped_keyboard=self.tapped_keyboard,
            command_menus=self.command_menus,
            documents=self.documents,
        )
        return reply, actions


async def _never() -> bool:
    return False
