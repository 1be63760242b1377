"""``/broadcast``: an admin writes a message for their business's customers, on the engine.

The steps: choose the business (when the admin has several), send the message, choose the
audience (all customers, or those with a booking in a date range), see the preview with the
number of recipients, then Send or Discard. ``/broadcast_cancel`` discards the draft and stops
the admin's broadcasts still sending.

The draft lives in the conversation state (:mod:`bot.admin.state`), its buttons are the engine's
server-side tokens (actions ``a:...``), and the admin's right to the business is read again from
the ``admins`` table on every step (:mod:`bot.admin.rights`). Send checkpoints the conversation
first, so a double tap (or the same tap delivered twice) starts one broadcast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import select

from bot.admin import texts
from bot.admin.guard import refuse, roles_for
from bot.admin.rights import administered, may_administer
from bot.admin.state import ComposerState, draft, keep_draft
from bot.delivery import broadcasts
from bot.engine.features import Feature
from bot.engine.turn import MenuButton, Turn
from bot.i18n import format_number
from storage.delivery_models import Broadcast
from storage.models import Business
from storage.types import row_id

if TYPE_CHECKING:
    from bot.engine.engine import Engine


class BroadcastComposer(Feature):
    prefix: ClassVar[str] = "a"
    commands: ClassVar[tuple[str, ...]] = ("broadcast", "broadcast_cancel")

    # -- commands --------------------------------------------------------------------------
    async def on_command(self, engine: Engine, turn: Turn, command: str, argument: str) -> None:
        if command == "broadcast_cancel":
            if await roles_for(turn, command, argument) is not None:
                await self._cancel(turn)
            return
        async with turn.services.sessions() as session:
            businesses = await administered(session, turn.event.user_id)
        if not businesses:
            await refuse(turn, command, argument)
            return
        keep_draft(turn, None)
        if len(businesses) > 1:
            rows = [[MenuButton(b.name, f"a:b:{b.id}")] for b in businesses]
            turn.show(turn.t(texts.BROADCAST_PICK_BUSINESS), rows)
            return
        _ask_text(turn, businesses[0])

    async def _cancel(self, turn: Turn) -> None:
        replies = []
        if draft(turn) is not None:
            keep_draft(turn, None)
            replies.append(turn.t(texts.BROADCAST_DISCARDED))
        user_id = turn.event.user_id
        async with turn.services.sessions() as session, session.begin():
            # "draft" rows: drafts kept in the database before they moved to the conversation
            running = await session.scalars(
                select(Broadcast).where(
                    Broadcast.created_by == user_id, Broadcast.status.in_(("draft", "sending"))
                )
            )
            for broadcast in list(running):
                if not await may_administer(session, user_id, broadcast.business_id):
                    continue
                if broadcast.status == "draft":
                    broadcast.status = "cancelled"
                    replies.append(turn.t(texts.BROADCAST_DISCARDED))
                    continue
                c = await broadcasts.cancel_broadcast(session, broadcast, turn.now)
                replies.append(
                    turn.t(texts.BROADCAST_CANCELLED, sent=f"{c.sent:,}", total=f"{c.total:,}")
                )
        turn.show("\n".join(replies) or turn.t(texts.BROADCAST_NOTHING_TO_CANCEL))

    # -- buttons ---------------------------------------------------------------------------
    async def on_action(self, engine: Engine, turn: Turn, action: str) -> None:
        kind, _, argument = action.partition(":")
        business_id = row_id(argument) if kind == "b" else None
        if business_id is not None:
            await self._pick_business(turn, business_id)
            return
        state = draft(turn)
        if not state or not await self._still_admin(turn, state):
            keep_draft(turn, None)
            turn.alert = turn.t(texts.BROADCAST_STALE)
            turn.alert_dialog = True
            return
        step = state.get("step")
        if kind == "x":
            keep_draft(turn, None)
            turn.show(turn.t(texts.BROADCAST_DISCARDED))
        elif kind == "all" and step == "audience":
            state["aud"] = {"kind": "all"}
            await self._preview(turn, state)
        elif kind == "range" and step == "audience":
            state["step"] = "range"
            turn.show(turn.t(texts.BROADCAST_ASK_RANGE))
        elif kind == "send" and step == "confirm":
            await self._send(turn, state)
        else:
            turn.alert = turn.t(texts.BROADCAST_STALE)
            turn.alert_dialog = True

    async def _pick_business(self, turn: Turn, business_id: int) -> None:
        async with turn.services.sessions() as session:
            allowed = await may_administer(session, turn.event.user_id, business_id)
            business = await session.get(Business, business_id)
        if not allowed:
            turn.alert = turn.t(texts.NOT_ADMIN)
            turn.alert_dialog = True
        elif business is not None:
            _ask_text(turn, business)

    # -- text ------------------------------------------------------------------------------
    def takes_text(self, turn: Turn) -> bool:
        state = draft(turn)
        return state is not None and state.get("step") in ("text", "range")

    async def on_text(self, engine: Engine, turn: Turn, text: str) -> None:
        state = draft(turn)
        assert state is not None  # takes_text said so
        if not await self._still_admin(turn, state):
            keep_draft(turn, None)
            turn.show(turn.t(texts.NOT_ADMIN))
            return
        if state.get("step") == "text":
            state.update({"step": "audience", "text": text, "ent": list(turn.event.entities)})
            turn.show(
                turn.t(texts.BROADCAST_ASK_AUDIENCE),
                [
                    [MenuButton(turn.t(texts.BUTTON_AUDIENCE_ALL), "a:all")],
                    [MenuButton(turn.t(texts.BUTTON_AUDIENCE_RANGE), "a:range")],
                    [MenuButton(turn.t(texts.BUTTON_DISCARD), "a:x")],
                ],
            )
            return
        parsed = broadcasts.parse_range(text)
        if parsed is None:
            turn.show(turn.t(texts.BROADCAST_BAD_RANGE))
            return
        state["aud"] = {"kind": "range", "from": parsed[0].isoformat(), "to": parsed[1].isoformat()}
        await self._preview(turn, state)

    # -- preview and send ------------------------------------------------------------------
    async def _still_admin(self, turn: Turn, state: ComposerState) -> bool:
        async with turn.services.sessions() as session:
            return await may_administer(session, turn.event.user_id, int(state.get("biz", -1)))

    async def _preview(self, turn: Turn, state: ComposerState) -> None:
        """The message exactly as customers will get it (a message of its own, formatting
        included), then how many will get it, with Send / Discard."""
        async with turn.services.sessions() as session:
            business = await session.get(Business, state["biz"])
            assert business is not None  # businesses are never deleted
            count = await broadcasts.count_audience(session, business, state["aud"])
        turn.edit = False  # the question stays; the preview comes below it
        if turn.notices:
            turn.show("")  # notices first: the preview must be the admin's text alone
        turn.show(state["text"]).entities = tuple(state.get("ent", ()))
        if count == 0:
            keep_draft(turn, None)
            turn.show(turn.t(texts.BROADCAST_EMPTY))
            return
        state["step"] = "confirm"
        turn.show(
            turn.tn(
                "Preview above. It will be sent to {count} customer of {business}.",
                "Preview above. It will be sent to {count} customers of {business}.",
                count,
                count=format_number(count, turn.language),
                business=business.name,
            ),
            [
                [MenuButton(turn.t(texts.BUTTON_SEND), "a:send")],
                [MenuButton(turn.t(texts.BUTTON_DISCARD), "a:x")],
            ],
        )

    async def _send(self, turn: Turn, state: ComposerState) -> None:
        keep_draft(turn, None)
        # Stored without the draft before anything is sent: a second Send finds none.
        if not await turn.checkpoint():
            turn.alert = turn.t("This menu has expired.")
            return
        async with turn.services.sessions() as session, session.begin():
            broadcast = Broadcast(
                business_id=state["biz"],
                created_by=turn.event.user_id,
                admin_chat_id=turn.event.chat_id,
                status="draft",
                step="confirm",
                text=state["text"],
                entities=state.get("ent", []),
                audience=state["aud"],
            )
            session.add(broadcast)
            await session.flush()
            total = await broadcasts.start_broadcast(session, broadcast, turn.now)
            counts = broadcasts.Counts(
                total=total, sent=0, failed=0, blocked=0, skipped=0, open=total
            )
            broadcast.progress_text = broadcasts.progress_text(turn.language, counts)
            # the Send button's message becomes the progress the dispatcher keeps up to date
            broadcast.progress_message_id = turn.event.message_id
        turn.show(broadcast.progress_text)


def _ask_text(turn: Turn, business: Business) -> None:
    state: ComposerState = {"step": "text", "biz": business.id}
    keep_draft(turn, state)
    turn.show(turn.t(texts.BROADCAST_ASK_TEXT, business=business.name))


__all__ = ["BroadcastComposer"]
