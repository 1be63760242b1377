"""Features beside the booking flow that run on the engine's turns (the broadcast composer, the
reminder buttons...): they reach the engine as :class:`~bot.engine.types.Event` s through
:meth:`Engine.handle <bot.engine.engine.Engine.handle>` like everything else, so they get the
same conversation state, language, error mapping and server-side button tokens.

A feature is told about an event in one of four ways:

- a command it declares (:attr:`Feature.commands`);
- a tap on one of its menu buttons: its actions start with ``<prefix>:`` (:attr:`Feature.prefix`),
  and, like the booking's, they stay on the server behind a ``c<version>.<n>`` token;
- a tap whose callback data is the feature's own format, for messages sent outside any
  conversation (a reminder is sent by the dispatcher, so its buttons cannot be a conversation's
  tokens): data starting with ``<callback_prefix>:``. Such data comes from the client, so the
  feature checks everything it names on the server;
- text the feature is waiting for (:meth:`Feature.takes_text`), e.g. a broadcast's message.

The engine imports no feature: :func:`bot.app.build_application` hands them to the engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from bot.engine.turn import Turn

if TYPE_CHECKING:
    from bot.engine.engine import Engine


#: the action prefixes of the booking flow's own menus (bot.engine.buttons.button)
BOOKING_PREFIXES = ("b", "s", "m", "f", "l")


class Feature:
    """What a feature implements; every method has a do-nothing default."""

    #: prefix of the actions behind its menu buttons (``"a"`` for ``"a:send"``), not one of
    #: :data:`BOOKING_PREFIXES`
    prefix: ClassVar[str] = ""
    #: prefix of its own callback data (``"dr"`` for ``"dr:y:12"``), or empty for none
    callback_prefix: ClassVar[str] = ""
    #: commands it answers (without the slash)
    commands: ClassVar[tuple[str, ...]] = ()

    async def on_command(self, engine: Engine, turn: Turn, command: str, argument: str) -> None:
        """One of :attr:`commands`."""

    async def on_action(self, engine: Engine, turn: Turn, action: str) -> None:
        """A tap on one of its menu buttons: ``action`` without the ``<prefix>:``."""

    async def on_callback(self, engine: Engine, turn: Turn, data: str) -> None:
        """A tap on a button with its own callback data (hostile: check it all)."""

    def takes_text(self, turn: Turn) -> bool:
        """Whether this feature is waiting for the user's next text message."""
        return False

    async def on_text(self, engine: Engine, turn: Turn, text: str) -> None:
        """The text it was waiting for."""


class Features:
    """The features an engine runs, found by command, action prefix and callback prefix."""

    def __init__(self, features: Iterable[Feature] = ()) -> None:
        self.all = tuple(features)
        prefixes = [f.prefix for f in self.all if f.prefix]
        if len(set(prefixes)) != len(prefixes) or set(prefixes) & set(BOOKING_PREFIXES):
            raise ValueError(f"features' action prefixes must be unique and not {BOOKING_PREFIXES}")
        self.by_command = {command: f for f in self.all for command in f.commands}
        self.by_prefix = {f.prefix: f for f in self.all if f.prefix}
        self.by_callback = {f.callback_prefix + ":": f for f in self.all if f.callback_prefix}

    async def take(self, engine: Engine, turn: Turn) -> bool:
        """Give the turn's event to the feature it belongs to; ``False`` if it is the booking
        flow's (menu taps are routed by :meth:`on_action`, after the token is checked)."""
        event = turn.event
        if event.kind == "command":
            feature = self.by_command.get(event.command)
            if feature is not None:
                await feature.on_command(engine, turn, event.command, event.text.strip())
                return True
        elif event.kind == "button":
            head, colon, _ = event.text.partition(":")
            feature = self.by_callback.get(head + colon)
            if feature is not None:
                await feature.on_callback(engine, turn, event.text)
                return True
        elif event.kind == "text":
            for feature in self.all:
                if feature.takes_text(turn):
                    await feature.on_text(engine, turn, event.text)
                    return True
        return False

    async def on_action(self, engine: Engine, turn: Turn, prefix: str, action: str) -> bool:
        """Run a checked menu action of a feature; ``False`` if no feature has ``prefix``."""
        feature = self.by_prefix.get(prefix)
        if feature is None:
            return False
        await feature.on_action(engine, turn, action)
        return True


__all__ = ["Feature", "Features"]
