"""The conversation engine: one update in, one reply out, state in the database.

Every update is handled the same way: read the conversation (one short read transaction), work
out the reply (which may call the platform), then write the state back in one transaction that is
conditional on the version read. No state of record lives in process memory, so a restart or a
second worker continues exactly where the user was.

Buttons carry a short token ``c<version>.<n>``; the action behind it is kept in the state. A token
from an older menu, or one that was never offered, is answered "this menu has expired" and
changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.config import BusinessConfig
from bot.delivery import notices, reminders
from bot.engine.buttons import FeatureAction, button
from bot.engine.commands import command
from bot.engine.features import Feature, Features
from bot.engine.flow import NOT_BOOKABLE, TIMED_OUT, follow
from bot.engine.my_details import edit_text
from bot.engine.state import ConversationState, Menu
from bot.engine.steps import HANDLERS
from bot.engine.steps.base import show_current
from bot.engine.turn import MenuButton, Turn
from bot.engine.types import Event, Reply
from bot.i18n import gettext, pick_language
from providers.base import (
    Hold,
    NotBookable,
    NotFound,
    ProviderError,
    ProviderUnavailable,
)
from storage import conversations
from storage.admin_models import BlockedUser
from storage.conversations import ConversationRecord
from storage.models import User
from storage.writes import BookingChange

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

#: Longest text the engine reads; anything longer is refused before any parsing.
MAX_TEXT = 4096
#: How long a confirmation in progress keeps other updates of its conversation from writing;
#: past that (a worker died while booking) the conversation is usable again.
CONFIRMING_GRACE = timedelta(minutes=2)
#: The language a user chose with /language (read when their conversation is new).
#: What a new conversation reads: the language the user chose with /language, and whether an
#: owner blocked them (``/block``), in one statement.
_NEW_CONVERSATION = select(
    select(User.language).where(User.id == bindparam("p_user")).scalar_subquery(),
    exists().where(BlockedUser.user_id == bindparam("p_user")),
)


def confirming_elsewhere(state: ConversationState, now: datetime) -> bool:
    """Whether another update checkpointed this conversation and is booking right now."""
    started = state.confirming
    if not isinstance(started, str):
        return False
    try:
        return now - datetime.fromisoformat(started) < CONFIRMING_GRACE
    except (TypeError, ValueError):
        return False


class Engine:
    def __init__(self, services: Services, features: Iterable[Feature] = ()) -> None:
        self.services = services
        #: what runs beside the booking flow (see :mod:`bot.engine.features`)
        self.features = Features(features)

    # ---------------------------------------------------------------------------------------
    async def handle(self, event: Event) -> Reply:
        services = self.services
        now = services.clock()
        record = await self._load_unless_blocked(event)
        if record is None:
            return Reply(screens=[])  # an owner blocked this user: the bot ignores them
        state = ConversationState.from_stored(record.data)
        language = pick_language(
            state.language, event.telegram_language, services.config.default_language
        )
        if confirming_elsewhere(state, now):
            # The same Confirm delivered twice (or a tap meanwhile): the update that holds the
            # checkpoint is calling the platform. Saving this one would bump the version under
            # it and lose its "Booked!" screen and state, so this update changes nothing.
            return Reply(
                screens=[], alert=gettext(language, "This booking is already being confirmed.")
            )
        turn = Turn(services, event, record, state, now=now, language=language)
        turn.checkpoint = lambda: self._checkpoint(turn)
        if record.expires_at is not None and record.expires_at < now and turn.in_booking:
            await follow(turn, TIMED_OUT)
            turn.notice("Your previous booking timed out, so it was not kept.")
        try:
            await self._dispatch(turn)
        except ProviderUnavailable:
            turn.drafts.clear()
            turn.notice("The booking system is not answering right now. Your choices are kept.")
            turn.show(
                turn.t("Try again in a moment."),
                [
                    [MenuButton(turn.t("↻ Retry"), "b:retry")],
                    [MenuButton(turn.t("✖ Cancel"), "b:cancel")],
                ],
            )
        except (NotBookable, NotFound) as refused:
            turn.drafts.clear()
            await follow(turn, NOT_BOOKABLE)
            turn.notice(refused.message or "This cannot be booked online at the moment.")
            turn.show(turn.t("Send /book to start again."))
        except ProviderError as failure:
            log.warning("provider refused an update: %s", type(failure).__name__)
            turn.drafts.clear()
            turn.notice(failure.message or "The booking system refused this request.")
            if turn.in_booking:
                await show_current(turn)
        return await self._save(turn)

    async def _dispatch(self, turn: Turn) -> None:
        event = turn.event
        if event.kind == "command":
            turn.state.editing = None  # a command ends a /mydetails edit
        if await self.features.take(self, turn):
            return
        if event.kind == "command":
            await command(turn, event.command, event.text.strip())
        elif event.kind == "button":
            await button(turn, event.text, self._feature_action(turn))
        elif len(event.text) > MAX_TEXT:
            turn.notice("That message is too long.")
            await self._current_or_hint(turn)
        elif turn.state.editing is not None:
            await edit_text(turn, event.phone if event.kind == "contact" else event.text)
        elif event.kind == "contact" and turn.in_booking:
            await HANDLERS[turn.step.kind].on_contact(turn, turn.step, event.phone)
        elif turn.in_booking:
            await HANDLERS[turn.step.kind].on_text(turn, turn.step, event.text)
        else:
            turn.show(turn.t("Send /book to make an appointment, or /help to see what I can do."))

    async def _current_or_hint(self, turn: Turn) -> None:
        if turn.in_booking:
            await show_current(turn)
        else:
            turn.show(turn.t("Send /book to make an appointment, or /help to see what I can do."))

    def _feature_action(self, turn: Turn) -> FeatureAction:
        """How :func:`button` runs a checked menu action that belongs to a feature."""

        async def run(prefix: str, action: str) -> bool:
            return await self.features.on_action(self, turn, prefix, action)

        return run

    # -- persistence -------------------------------------------------------------------------
    # Every update reads its conversation once and writes it once, each on one connection
    # with Core statements (storage.conversations); a turn's other writes commit in the
    # transaction that writes the state.
    async def load(self, chat_id: int, user_id: int) -> ConversationRecord:
        """The conversation of ``user_id`` in ``chat_id`` (a new one remembers the language
        the user chose with /language: a swept conversation must not forget it)."""
        async with self.services.autocommit_engine.connect() as connection:
            record, _ = await self._read(connection, chat_id, user_id)
            return record

    async def _load_unless_blocked(self, event: Event) -> ConversationRecord | None:
        """:meth:`load`, or ``None`` for a user an owner blocked (``/block``; owners cannot
        be). ``/block`` deletes the user's conversations, so a blocked user's update always
        finds none, and the block is read with the language a new conversation reads anyway:
        no statement more for everyone else."""
        async with self.services.autocommit_engine.connect() as connection:
            record, blocked = await self._read(connection, event.chat_id, event.user_id)
        if blocked and event.user_id not in self.services.config.owners:
            return None
        return record

    async def _read(
        self, connection: AsyncConnection, chat_id: int, user_id: int
    ) -> tuple[ConversationRecord, bool]:
        """The conversation, and (for a new one) whether its user is blocked."""
        record = await conversations.load(connection, chat_id, user_id)
        if not record.is_new:
            return record, False
        chosen, blocked = (await connection.execute(_NEW_CONVERSATION, {"p_user": user_id})).one()
        if chosen:
            record.data = ConversationState(language=chosen).to_stored()
        return record, bool(blocked)

    async def _store(self, turn: Turn, *, with_writes: bool = True) -> bool:
        """Write the turn's state, with its other writes in the same transaction unless
        ``with_writes`` is false (a checkpoint stores the state alone). A write that changed a
        booking has its reminders scheduled or withdrawn and the business's notices written
        here, in that transaction too.

        The writes commit even when the version check refuses the state (``False``): they
        record what already happened on the platform (a booking, a cancellation)."""
        record, now = turn.record, self.services.clock()
        record.data = turn.state.to_stored()
        expires_at = now + self.services.idle_timeout
        writes = turn.writes if with_writes else []
        # The state alone is one conditional statement: it needs no transaction around it.
        engine = self.services.engine if writes else self.services.autocommit_engine
        async with engine.begin() as connection:
            for write in writes:
                change = await write(connection)
                if change is not None:
                    await reminders.follow(connection, change, self._business_of(change))
                    await notices.follow(connection, change)
            return await conversations.save(connection, record, expires_at=expires_at, now=now)

    def _business_of(self, change: BookingChange) -> BusinessConfig:
        return self.services.business(self.services.business_slugs[change.booking.business_id])

    async def _checkpoint(self, turn: Turn) -> bool:
        """Store the state now (bumping its version) so that the same menu cannot be used
        twice; ``False`` if another update got there first."""
        turn.state.confirming = self.services.clock().isoformat()
        stored = await self._store(turn, with_writes=False)
        turn.state.confirming = None
        return stored

    async def _save(self, turn: Turn) -> Reply:
        record = turn.record
        reply, actions = turn.build_reply(record.version + 1)
        if actions:
            turn.state.menu = Menu(version=record.version + 1, actions=actions)
        stored = await self._store(turn)
        if not stored:
            # Someone else changed this conversation meanwhile (a double tap handled by another
            # worker). What we recorded above stays; our screen would be stale, so say so.
            return Reply(screens=[], alert=gettext(turn.language, "This menu has expired."))
        return reply

    # -- housekeeping ------------------------------------------------------------------------
    async def sweep_expired(self) -> int:
        """Release the holds of abandoned conversations and forget them. Returns how many."""
        now = self.services.clock()
        async with self.services.sessions() as session:
            expired = await conversations.expired(session, now)
        swept = 0
        for record in expired:
            booking = ConversationState.from_stored(record.data).booking
            if booking and booking.hold and booking.business in self.services.providers:
                try:
                    await self.services.providers[booking.business].release(
                        Hold.from_json(booking.hold)
                    )
                except ProviderError:
                    log.warning("could not release an expired hold; the platform will expire it")
            async with self.services.sessions() as session, session.begin():
                if await conversations.delete_if_unchanged(session, record):
                    swept += 1
        return swept


__all__ = ["Engine"]
