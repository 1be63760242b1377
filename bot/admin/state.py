"""The broadcast composer's part of the conversation state: ``"adm"``
(:attr:`bot.engine.state.ConversationState.composer`), holding a
:class:`ComposerState` while an admin composes a broadcast (absent otherwise). It lives beside the
booking's ``"b"``, so composing a broadcast does not drop a booking in progress, and it goes
when the conversation does (idle timeout)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypedDict, cast

if TYPE_CHECKING:
    from bot.engine.turn import Turn


Step = Literal["text", "audience", "range", "confirm"]


class ComposerState(TypedDict, total=False):
    #: what is asked next: the message, the audience, the date range, or Send / Discard
    step: Step
    #: the business it is for (its id; the admin's right to it is checked on every action)
    biz: int
    #: the message as the admin wrote it, and its formatting (Bot API ``MessageEntity`` JSON)
    text: str
    ent: list[dict[str, Any]]
    #: who receives it: ``{"kind": "all"}`` or ``{"kind": "range", "from": ISO, "to": ISO}``
    aud: dict[str, str]


def draft(turn: Turn) -> ComposerState | None:
    """The broadcast this admin is composing in the turn's conversation, if any."""
    return cast("ComposerState | None", turn.state.composer)


def keep_draft(turn: Turn, state: ComposerState | None) -> None:
    """Keep ``state`` as the conversation's draft (``None``: drop it)."""
    turn.state.composer = cast("dict[str, Any] | None", state)
