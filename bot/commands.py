"""Every command of the bot, declared once: its name, what it does (a message id), who may use
it, and whether it is listed. The command menu (``set_my_commands``) is built from this table;
the /help text and the README's command list are checked against it (tests/bot/test_commands.py).

The engine and its features answer them all (:mod:`bot.engine.engine`, and the ``commands``
of each :class:`~bot.engine.features.Feature`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.i18n import N_

Audience = Literal["everyone", "admins"]


@dataclass(frozen=True)
class Command:
    name: str
    #: what it does, for the command menu (a message id, translated when the menu is set)
    description: str
    #: who may use it: everyone, or business admins and owners (checked on the server)
    audience: Audience = "everyone"
    #: shown in the command menu and in /help (``/start`` is how a chat begins, not a choice)
    listed: bool = True


COMMANDS: tuple[Command, ...] = (
    Command("start", N_("Start, or open a business from its link"), listed=False),
    Command("book", N_("Make an appointment")),
    Command("mybookings", N_("Your appointments")),
    Command("mydetails", N_("Your stored details")),
    Command("settings", N_("Reminders and news")),
    Command("cancel", N_("Stop the booking in progress")),
    Command("language", N_("Choose the language")),
    Command("help", N_("What I can do")),
    Command("broadcast", N_("Write a message to your customers"), "admins", listed=False),
    Command("broadcast_cancel", N_("Stop your broadcast"), "admins", listed=False),
)


def menu() -> list[Command]:
    """The commands of the menu everyone sees, in order."""
    return [c for c in COMMANDS if c.listed and c.audience == "everyone"]


__all__ = ["COMMANDS", "Command", "menu"]
