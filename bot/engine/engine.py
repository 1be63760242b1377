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
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select

from bot.config import BusinessConfig
from bot.delivery import reminders
from bot.engine.steps import HANDLERS
from bot.engine.steps.base import go_back, show_current
from bot.engine.steps.slot import release_hold
from bot.engine.summary import when
from bot.engine.turn import MenuButton, Turn
from bot.engine.types import Event, Reply
from bot.i18n import LANGUAGES, N_, gettext, pick_language
from providers.base import (
    Hold,
    NotBookable,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    Selection,
)
from storage import bookings as booking_store
from storage import conversations
from storage import fiches as fiche_store
from storage.conversations import ConversationRecord
from storage.models import User
from storage.writes import BookingChange, Write

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

TOKEN = re.compile(r"^c(\d{1,12})\.(\d{1,4})$")
#: Longest text the engine reads; anything longer is refused before any parsing.
MAX_TEXT = 4096
COMMANDS = ("start", "book", "mybookings", "mydetails", "cancel", "help", "language")
#: How long a confirmation in progress keeps other updates of its conversation from writing;
#: past that (a worker died while booking) the conversation is usable again.
CONFIRMING_GRACE = timedelta(minutes=2)
#: The language a user chose with /language (read when their conversation is new).
_CHOSEN_LANGUAGE = select(User.language).where(User.id == bindparam("p_user"))


def confirming_elsewhere(data: dict[str, Any], now: datetime) -> bool:
    """Whether another update checkpointed this conversation and is booking right now."""
    started = data.get("confirming")
    if not isinstance(started, str):
        return False
    try:
        return now - datetime.fromisoformat(started) < CONFIRMING_GRACE
    except (TypeError, ValueError):
        return False


class Engine:
    def __init__(self, services: Services) -> None:
        self.services = services

    # ---------------------------------------------------------------------------------------
    async def handle(self, event: Event) -> Reply:
        services = self.services
        now = services.clock()
        record = await self.load(event.chat_id, event.user_id)
        language = pick_language(
            record.data.get("lang"), event.telegram_language, services.config.default_language
        )
        if confirming_elsewhere(record.data, now):
            # The same Confirm delivered twice (or a tap meanwhile): the update that holds the
            # checkpoint is calling the platform. Saving this one would bump the version under
            # it and lose its "Booked!" screen and state, so this update changes nothing.
            return Reply(
                screens=[], alert=gettext(language, "This booking is already being confirmed.")
            )
        turn = Turn(services=services, event=event, record=record, now=now, language=language)
        turn.checkpoint = lambda: self._checkpoint(turn)
        if record.expires_at is not None and record.expires_at < now and turn.in_booking:
            await self._abandon(turn)
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
            await self._abandon(turn)
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
            await self._command(turn, event.command, event.text.strip())
        elif event.kind == "button":
            await self._button(turn, event.text)
        elif len(event.text) > MAX_TEXT:
            turn.notice("That message is too long.")
            await self._current_or_hint(turn)
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

    # -- commands ----------------------------------------------------------------------------
    async def _command(self, turn: Turn, command: str, argument: str) -> None:
        if command == "start":
            turn.writes.append(self._remember_user(turn))
            slug = argument if self.services.config.business(argument) else None
            if turn.in_booking and not slug:
                turn.notice("Welcome back! Here is where you were.")
                await show_current(turn)
                return
            turn.notice("Hello! I can book you an appointment.")
            await self._begin(turn, slug)
        elif command == "book":
            slug = argument if self.services.config.business(argument) else None
            await self._begin(turn, slug)
        elif command == "cancel":
            if turn.in_booking:
                await self._abandon(turn)
                turn.show(turn.t("Booking cancelled. Send /book to start again."))
            else:
                turn.show(
                    turn.t(
                        "There is no booking in progress. "
                        "To cancel an appointment, send /mybookings."
                    )
                )
        elif command == "mybookings":
            await self._my_bookings(turn)
        elif command == "mydetails":
            await self._my_details(turn)
        elif command == "language":
            rows = [[MenuButton(name, f"l:{code}")] for code, name in LANGUAGES.items()]
            turn.show(turn.t("Which language would you like?"), rows)
        else:  # help, and anything unknown
            turn.show(turn.t(HELP))

    def _remember_user(self, turn: Turn) -> Write:
        event = turn.event
        return fiche_store.remember_user(event.user_id, event.first_name, event.telegram_language)

    async def _begin(self, turn: Turn, slug: str | None) -> None:
        businesses = self.services.config.businesses
        if slug is None and len(businesses) == 1:
            slug = businesses[0].slug
        if slug is None:
            await self._abandon(turn)
            rows = [[MenuButton(b.name, f"s:{b.slug}")] for b in businesses]
            turn.show(turn.t("Where would you like to book?"), rows)
            return
        await self.start_booking(turn, slug)

    async def start_booking(
        self,
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
        await self._abandon(turn)
        provider = self.services.providers[slug]
        selection = Selection(language=turn.language, user_key=f"tg:{turn.event.user_id}")
        steps = [s for s in await provider.flow(selection) if s.kind not in skip_kinds]
        first = next((i for i, s in enumerate(steps) if s.kind == first_kind), 0)
        turn.data["b"] = {"biz": slug, "flow": [s.to_json() for s in steps], "i": first, "ch": {}}
        if prefilled:
            turn.booking.update(prefilled)
        await show_current(turn)

    async def _abandon(self, turn: Turn) -> None:
        """Drop the booking in progress, releasing any hold it owns."""
        if turn.in_booking:
            await release_hold(turn)
            turn.data.pop("b", None)

    # -- buttons -----------------------------------------------------------------------------
    async def _button(self, turn: Turn, token: str) -> None:
        match = TOKEN.match(token)
        menu = turn.data.get("menu") or {}
        actions = menu.get("a", [])
        if (
            match is None
            or int(match.group(1)) != menu.get("v")
            or int(match.group(2)) >= len(actions)
        ):
            turn.alert = turn.t("This menu has expired.")
            if turn.in_booking:
                turn.notice("This menu has expired. Here is where you are:")
                await show_current(turn)
            return
        turn.edit = True
        action: str = actions[int(match.group(2))]
        prefix, _, rest = action.partition(":")
        if prefix == "b" and turn.in_booking:
            await self._booking_action(turn, rest)
        elif prefix == "b" and rest == "retry":
            # The platform failed before the booking started (its first screen): start again.
            await self._begin(turn, None)
        elif prefix == "s" and self.services.config.business(rest):
            await self.start_booking(turn, rest)
        elif prefix == "m":
            await self._my_bookings_action(turn, rest)
        elif prefix == "f":
            await self._my_details_action(turn, rest)
        elif prefix == "l" and rest in LANGUAGES:
            await self._set_language(turn, rest)
        else:
            turn.alert = turn.t("This menu has expired.")

    async def _booking_action(self, turn: Turn, action: str) -> None:
        step = turn.step
        handler = HANDLERS[step.kind]
        if action == "cancel":
            await self._abandon(turn)
            turn.show(turn.t("Booking cancelled. Send /book to start again."))
        elif action == "back":
            on_back = getattr(handler, "on_back", None)
            if on_back is None or not await on_back(turn, step):
                await go_back(turn)
        elif action == "retry":
            await show_current(turn)
        else:
            await handler.on_action(turn, step, action)

    async def _set_language(self, turn: Turn, language: str) -> None:
        turn.data["lang"] = language
        turn.language = language
        event = turn.event
        turn.writes.append(
            fiche_store.choose_language(
                event.user_id, event.first_name, event.telegram_language, language
            )
        )
        turn.show(
            turn.t("I will speak English with you.")
            if language == "en"
            else turn.t("I will speak French with you.")
        )
        if turn.in_booking:
            await show_current(turn)

    # -- my bookings -------------------------------------------------------------------------
    async def _my_bookings(self, turn: Turn) -> None:
        rows = await booking_store.upcoming(self.services, turn.event.user_id, turn.now)
        if not rows:
            turn.show(turn.t("You have no upcoming appointments. Send /book to make one."))
            return
        lines, buttons = [], []
        slugs = {v: k for k, v in self.services.business_ids.items()}
        for row in rows:
            slug = slugs.get(row.business_id)
            if slug is None:
                continue
            business = self.services.business(slug)
            moment = when(row.start_at, business.zone, turn.language)
            lines.append(f"• {moment} — {row.service_name}, {business.name}")
            short = row.start_at.astimezone(business.zone).strftime("%d/%m %H:%M")
            buttons.append([MenuButton(turn.t("✖ Cancel {when}", when=short), f"m:c:{row.id}")])
            if self.services.providers[slug].supports_reschedule:
                buttons.append([MenuButton(turn.t("↻ Change {when}", when=short), f"m:r:{row.id}")])
        turn.show(turn.t("Your upcoming appointments:") + "\n\n" + "\n".join(lines), buttons)

    async def _my_bookings_action(self, turn: Turn, action: str) -> None:
        kind, _, raw_id = action.partition(":")
        if not raw_id.isdigit():
            turn.alert = turn.t("This menu has expired.")
            return
        booking_id = int(raw_id)
        # Ownership is checked here, on every tap, not just when the list was made.
        row = await booking_store.owned(self.services, booking_id, turn.event.user_id)
        if row is None or row.status != "confirmed":
            turn.notice("This appointment is not in your bookings any more.")
            await self._my_bookings(turn)
            return
        slug = {v: k for k, v in self.services.business_ids.items()}[row.business_id]
        business = self.services.business(slug)
        if kind == "c":
            turn.show(
                turn.t(
                    "Cancel {service} on {when}?",
                    service=row.service_name,
                    when=when(row.start_at, business.zone, turn.language),
                ),
                [
                    [MenuButton(turn.t("Yes, cancel it"), f"m:cc:{row.id}")],
                    [MenuButton(turn.t("No, keep it"), "m:list:0")],
                ],
            )
        elif kind == "cc":
            provider = self.services.providers[slug]
            selection = Selection(
                choices={k: tuple(v) for k, v in (row.selection or {}).items()},
                language=turn.language,
                user_key=f"tg:{turn.event.user_id}",
            )
            try:
                await provider.cancel(row.provider_ref, selection)
            except NotFound:
                pass  # already gone on the platform: make our mirror agree
            # Ownership and status are checked again in the writing transaction.
            turn.writes.append(booking_store.cancel(booking_id, turn.event.user_id, turn.now))
            turn.show(turn.t("Your appointment is cancelled."))
        elif kind == "r":
            await self.begin_reschedule(turn, row.id)
        else:
            await self._my_bookings(turn)

    # -- stored details ------------------------------------------------------------------------
    async def _my_details(self, turn: Turn) -> None:
        """The people this user stored details for, each with a Delete button."""
        fiches = await fiche_store.all_for_user(self.services, turn.event.user_id)
        if not fiches:
            turn.show(turn.t("You have no stored details."))
            return
        names = {v: k for k, v in self.services.business_ids.items()}
        lines, rows = [], []
        for fiche in fiches:
            slug = names.get(fiche.business_id)
            business = self.services.config.business(slug) if slug else None
            who = f"{fiche.first_name} {fiche.last_name}".strip()
            label = f"{who} ({fiche.label})" if fiche.label else who
            lines.append(f"• {label} — {business.name if business else '?'}")
            rows.append([MenuButton(turn.t("🗑 Delete {name}", name=label), f"f:d:{fiche.id}")])
        turn.show(
            turn.t("The details you stored for your bookings:") + "\n\n" + "\n".join(lines), rows
        )

    async def _my_details_action(self, turn: Turn, action: str) -> None:
        kind, _, raw_id = action.partition(":")
        if not raw_id.isdigit():
            turn.alert = turn.t("This menu has expired.")
            return
        fiche_id = int(raw_id)
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
            await self._my_details(turn)

    async def begin_reschedule(self, turn: Turn, booking_id: int) -> None:
        """Walk the user to the date step to move their booking ``booking_id``."""
        row = await booking_store.owned(self.services, booking_id, turn.event.user_id)
        if row is None or row.status != "confirmed":
            turn.notice("This appointment is not in your bookings any more.")
            await self._my_bookings(turn)
            return
        slug = {v: k for k, v in self.services.business_ids.items()}[row.business_id]
        if not self.services.providers[slug].supports_reschedule:
            turn.show(
                turn.t(
                    "This appointment cannot be changed online. You can cancel it and book again."
                )
            )
            return
        choices: dict[str, Any] = {}
        for key, ids in (row.selection or {}).items():
            label = row.service_name if key == "service" else (row.resource_name or "")
            choices[key] = {"ids": list(ids), "labels": [label] * len(ids), "auto": True}
        first, last = [*row.customer_name.split(" ", 1), ""][:2]
        turn.notice("Pick the new day for your appointment.")
        await self.start_booking(
            turn,
            slug,
            prefilled={
                "ch": choices,
                "resched": row.id,
                "resched_ref": row.provider_ref,
                "cust": {"first_name": first, "last_name": last},
                "fiche": row.fiche_id,
                "label": "",
            },
            skip_kinds=("customer", "questions", "sign_in"),
            first_kind="date",
        )

    # -- persistence -------------------------------------------------------------------------
    # Every update reads its conversation once and writes it once, each on one connection
    # with Core statements (storage.conversations); a turn's other writes commit in the
    # transaction that writes the state.
    async def load(self, chat_id: int, user_id: int) -> ConversationRecord:
        """The conversation of ``user_id`` in ``chat_id`` (a new one remembers the language
        the user chose with /language: a swept conversation must not forget it)."""
        async with self.services.autocommit_engine.connect() as connection:
            record = await conversations.load(connection, chat_id, user_id)
            if record.is_new:
                chosen = await connection.scalar(_CHOSEN_LANGUAGE, {"p_user": user_id})
                if chosen:
                    record.data["lang"] = chosen
        return record

    async def _store(self, turn: Turn, *, with_writes: bool = True) -> bool:
        """Write the turn's state, with its other writes in the same transaction unless
        ``with_writes`` is false (a checkpoint stores the state alone). A write that changed a
        booking has its reminders scheduled or withdrawn here, in that transaction too.

        The writes commit even when the version check refuses the state (``False``): they
        record what already happened on the platform (a booking, a cancellation)."""
        record, now = turn.record, self.services.clock()
        expires_at = now + self.services.idle_timeout
        writes = turn.writes if with_writes else []
        # The state alone is one conditional statement: it needs no transaction around it.
        engine = self.services.engine if writes else self.services.autocommit_engine
        async with engine.begin() as connection:
            for write in writes:
                change = await write(connection)
                if change is not None:
                    await reminders.follow(connection, change, self._business_of(change))
            return await conversations.save(connection, record, expires_at=expires_at, now=now)

    def _business_of(self, change: BookingChange) -> BusinessConfig:
        slugs = {v: k for k, v in self.services.business_ids.items()}
        return self.services.business(slugs[change.booking.business_id])

    async def _checkpoint(self, turn: Turn) -> bool:
        """Store the state now (bumping its version) so that the same menu cannot be used
        twice; ``False`` if another update got there first."""
        turn.data["confirming"] = self.services.clock().isoformat()
        stored = await self._store(turn, with_writes=False)
        turn.data.pop("confirming", None)
        return stored

    async def _save(self, turn: Turn) -> Reply:
        record = turn.record
        reply, actions = turn.build_reply(record.version + 1)
        if actions:
            record.data["menu"] = {"v": record.version + 1, "a": actions}
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
            booking = record.data.get("b") or {}
            if booking.get("hold") and booking.get("biz") in self.services.providers:
                try:
                    await self.services.providers[booking["biz"]].release(
                        Hold.from_json(booking["hold"])
                    )
                except ProviderError:
                    log.warning("could not release an expired hold; the platform will expire it")
            async with self.services.sessions() as session, session.begin():
                if await conversations.delete_if_unchanged(session, record):
                    swept += 1
        return swept


HELP = N_(
    "I book appointments for you.\n\n"
    "/book — make an appointment\n"
    "/mybookings — see, change or cancel your appointments\n"
    "/mydetails — see or delete the details you stored\n"
    "/settings — reminders and news on or off\n"
    "/cancel — stop the booking in progress\n"
    "/language — choose the language\n"
    "/help — this message"
)


__all__ = ["Engine"]
