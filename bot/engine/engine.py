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

from sqlalchemy import Connection, bindparam, exists, select

from bot.config import BusinessConfig
from bot.delivery import booking_changes
from bot.engine import intents, reconcile
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
from bot.engine.unsafe_text import unsafe_character
from bot.i18n import gettext, pick_language
from providers.base import (
    Hold,
    NotBookable,
    NotFound,
    ProviderError,
    ProviderUnavailable,
)
from storage import conversations
from storage import funnel as funnel_counts
from storage.admin_models import BlockedUser
from storage.conversations import ConversationRecord
from storage.db import connected
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
#: Commands answered while a confirmation is in progress: they show, and change nothing.
READ_ONLY_COMMANDS = frozenset({"help", "mybookings"})
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


def _read_conversation(
    connection: Connection, chat_id: int, user_id: int
) -> tuple[ConversationRecord, bool]:
    """:meth:`Engine.load`'s statements, on one synchronous connection: the conversation,
    and (for a new one) whether its user is blocked."""
    record = conversations.read(connection, chat_id, user_id)
    if not record.is_new:
        return record, False
    chosen, blocked = connection.execute(_NEW_CONVERSATION, {"p_user": user_id}).one()
    if chosen:
        record.data = ConversationState(language=chosen).to_stored()
    return record, bool(blocked)


def _write_conversation(
    connection: Connection,
    record: ConversationRecord,
    reached: list[funnel_counts.Reached],
    *,
    expires_at: datetime,
    now: datetime,
) -> bool:
    """A turn's state written without other writes (and the funnel steps it reached, see
    :func:`_write_counting`), committed: one synchronous call."""
    stored = _write_counting(connection, record, reached, expires_at=expires_at, now=now)
    connection.commit()
    return stored


def _write_counting(
    connection: Connection,
    record: ConversationRecord,
    reached: list[funnel_counts.Reached],
    *,
    expires_at: datetime,
    now: datetime,
) -> bool:
    """A turn's state, and the funnel steps it reached if the state is stored (a turn refused
    by the version check reached nothing), in the caller's transaction: one synchronous call."""
    stored = conversations.write(connection, record, expires_at=expires_at, now=now)
    if stored and reached:
        funnel_counts.count(connection, reached)
    return stored


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
        turn = Turn(services, event, record, state, now=now, language=language)
        if confirming_elsewhere(state, now):
            return await self._while_confirming(turn)

        async def checkpoint(*, intent: bool = False) -> bool:
            return await self._checkpoint(turn, intent=intent)

        turn.checkpoint = checkpoint
        if record.expires_at is not None and record.expires_at < now and turn.in_booking:
            await follow(turn, TIMED_OUT)
            turn.notice("Your previous booking timed out, so it was not kept.")
        try:
            # A Confirm not settled in its own turn (a crash, no answer) is settled first.
            if state.intent is not None and await reconcile.settle_on_return(turn):
                await self._current_or_hint(turn, hint=False)
            else:
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

    async def _while_confirming(self, turn: Turn) -> Reply:
        """An update while another one holds the checkpoint and is calling the platform (the
        same Confirm delivered twice, a tap, a command meanwhile). Saving it would bump the
        version under that update and lose its "Booked!" screen and state, so nothing is
        stored: a tap is answered with a notice, /help and /mybookings with their text (no
        buttons: no menu would back them), anything else with what is going on."""
        event = turn.event
        if event.kind == "button":
            return Reply(screens=[], alert=turn.t("This booking is already being confirmed."))
        turn.notice("Your booking is being confirmed right now. I will show it in a moment.")
        if event.kind == "command" and event.command in READ_ONLY_COMMANDS:
            await command(turn, event.command, "")
        turn.writes.clear()
        reply, _ = turn.build_reply(turn.record.version)
        for screen in reply.screens:
            screen.buttons = []
        return reply

    async def _dispatch(self, turn: Turn) -> None:
        event = turn.event
        if event.kind == "command":
            turn.state.editing = None  # a command ends a /mydetails edit
        if event.kind in ("text", "contact") and not self._readable(turn):
            await self._current_or_hint(turn)
            return
        if await self.features.take(self, turn):
            return
        if event.kind == "command":
            await command(turn, event.command, event.text.strip())
        elif event.kind == "button":
            await button(turn, event.text, self._feature_action(turn))
        elif turn.state.editing is not None:
            await edit_text(turn, event.phone if event.kind == "contact" else event.text)
        elif event.kind == "contact" and turn.in_booking:
            await HANDLERS[turn.step.kind].on_contact(turn, turn.step, event.phone)
        elif turn.in_booking:
            await HANDLERS[turn.step.kind].on_text(turn, turn.step, event.text)
        else:
            turn.show(turn.t("Send /book to make an appointment, or /help to see what I can do."))

    def _readable(self, turn: Turn) -> bool:
        """Whether the text (or shared phone number) may be read at all, before any step or
        feature sees it; if not, says why (the user stays where they are)."""
        typed = turn.event.phone if turn.event.kind == "contact" else turn.event.text
        if len(typed) > MAX_TEXT:
            turn.notice("That message is too long.")
            return False
        code = unsafe_character(typed)
        if code is not None:
            turn.notice(
                "That message contains an invisible or control character ({code}) that I "
                "cannot keep. Please type it again without it.",
                code=code,
            )
            return False
        return True

    async def _current_or_hint(self, turn: Turn, *, hint: bool = True) -> None:
        if turn.in_booking:
            await show_current(turn)
        elif hint:
            turn.show(turn.t("Send /book to make an appointment, or /help to see what I can do."))

    def _feature_action(self, turn: Turn) -> FeatureAction:
        """How :func:`button` runs a checked menu action that belongs to a feature."""

        async def run(prefix: str, action: str) -> bool:
            return await self.features.on_action(self, turn, prefix, action)

        return run

    # -- persistence -------------------------------------------------------------------------
    # Every update reads its conversation once and writes it once, each on one connection
    # with Core statements (storage.conversations); a turn's other writes commit in the
    # transaction that writes the state. The read, and a state written alone (most updates),
    # run their statements and commit in one ``run_sync`` call: one pass through SQLAlchemy's
    # asyncio layer instead of one per statement, BEGIN and COMMIT (docs/performance.md).
    # Neither holds a connection across the turn's platform calls: the read's connection goes
    # back to the pool before the turn starts, the write's is taken after it ends.
    async def load(self, chat_id: int, user_id: int) -> ConversationRecord:
        """The conversation of ``user_id`` in ``chat_id`` (a new one remembers the language
        the user chose with /language: a swept conversation must not forget it)."""
        async with connected(self.services.autocommit_engine) as connection:
            record, _ = await connection.run_sync(_read_conversation, chat_id, user_id)
            return record

    async def _load_unless_blocked(self, event: Event) -> ConversationRecord | None:
        """:meth:`load`, or ``None`` for a user an owner blocked (``/block``; owners cannot
        be). ``/block`` deletes the user's conversations, so a blocked user's update always
        finds none, and the block is read with the language a new conversation reads anyway:
        no statement more for everyone else."""
        async with connected(self.services.autocommit_engine) as connection:
            record, blocked = await connection.run_sync(
                _read_conversation, event.chat_id, event.user_id
            )
        if blocked and event.user_id not in self.services.config.owners:
            return None
        return record

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
        # A checkpoint counts no funnel step: the turn's own save does, once.
        reached = turn.funnel if with_writes else []
        # The state alone is one conditional statement: it needs no transaction around it.
        # With funnel steps it needs one; on SQLite the autocommit engine is the engine itself
        # (storage.db.autocommit), whose commit covers both statements, so that turn stays on
        # this path too: one run_sync call instead of a BEGIN, a statement and a COMMIT each
        # through the asyncio layer (docs/performance.md, the funnel's cost).
        if not writes and (not reached or self.services.engine.dialect.name == "sqlite"):
            async with connected(self.services.autocommit_engine) as connection:
                return await connection.run_sync(
                    _write_conversation, record, reached, expires_at=expires_at, now=now
                )
        async with self.services.engine.begin() as connection:
            for write in writes:
                change = await write(connection)
                if change is not None:
                    await booking_changes.follow(connection, change, self._business_of(change))
            return await connection.run_sync(
                _write_counting, record, reached, expires_at=expires_at, now=now
            )

    def _business_of(self, change: BookingChange) -> BusinessConfig:
        return self.services.business(self.services.business_slugs[change.booking.business_id])

    async def _checkpoint(self, turn: Turn, *, intent: bool = False) -> bool:
        """Store the state now (bumping its version) so that the same menu cannot be used
        twice; ``False`` if another update got there first. ``intent``: record the Confirm's
        booking intent with it (:func:`bot.engine.intents.checkpoint`)."""
        state = turn.state
        state.confirming = self.services.clock().isoformat()
        if intent:
            # The tapped menu is used up: stored without it, none of its buttons (the same
            # Confirm after the grace, or after a crash) can book again. This turn's reply
            # brings a new one. (A broadcast's Send drops its draft instead, which its buttons
            # then find gone: "this broadcast can no longer be changed".)
            state.menu = None
            stored = await intents.checkpoint(self.services, turn)
        else:
            stored = await self._store(turn, with_writes=False)
        state.confirming = None
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
        """Settle abandoned Confirms (:func:`bot.engine.reconcile.settle_abandoned`), release the
        holds of abandoned conversations and forget them. Returns how many conversations."""
        await reconcile.settle_abandoned(self.services, CONFIRMING_GRACE)
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
