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

#: who may use a command, from everyone to owners only; each audience includes those after it
Audience = Literal["everyone", "staff", "admins", "owners"]
AUDIENCES: tuple[Audience, ...] = ("everyone", "staff", "admins", "owners")


@dataclass(frozen=True)
class Command:
    name: str
    #: what it does, for the command menu (a message id, translated when the menu is set)
    description: str
    #: who may use it: everyone, staff (their own schedule) and above, business admins and
    #: owners, or owners only (checked on the server; others get the unknown-command answer)
    audience: Audience = "everyone"
    #: shown in the command menu (``/start`` is how a chat begins, not a choice); the
    #: everyone's commands are also in /help, the others only in their audience's menu
    listed: bool = True


COMMANDS: tuple[Command, ...] = (
    Command("start", N_("Start, or open a business from its link"), listed=False),
    Command("book", N_("Make an appointment")),
    Command("mybookings", N_("Your appointments")),
    Command("mydetails", N_("Your stored details")),
    Command("settings", N_("Reminders and news")),
    Command("mydata", N_("Everything stored about you, as a file")),
    Command("forget", N_("Delete your data")),
    Command("cancel", N_("Stop the booking in progress")),
    Command("language", N_("Choose the language")),
    Command("help", N_("What I can do")),
    Command("today", N_("Today's appointments"), "staff"),
    Command("tomorrow", N_("Tomorrow's appointments"), "staff"),
    Command("week", N_("The next seven days' appointments"), "staff"),
    Command("bookings", N_("The appointments of a day: /bookings YYYY-MM-DD"), "staff"),
    Command("notices", N_("Which booking notices you get"), "staff"),
    Command("broadcast", N_("Write a message to your customers"), "admins"),
    Command("broadcast_cancel", N_("Stop your broadcast"), "admins"),
    Command("move", N_("Move a booking: /move <number> <YYYY-MM-DD> <HH:MM>"), "admins"),
    Command("enter", N_("Book for a customer who phoned"), "admins"),
    Command("close", N_("Close days or block times of the calendar"), "admins"),
    Command("reopen", N_("Open a closure again: /reopen <number>"), "admins"),
    Command("export", N_("Your bookings as a CSV file and a calendar"), "admins"),
    Command("stats", N_("Bookings, cancellations, no-shows, reminders"), "admins"),
    Command("health", N_("Whether the platform and the deliveries work"), "admins"),
    Command(
        "grant", N_("Give a user a role: /grant <user> <business> [admin|staff <name>]"), "owners"
    ),
    Command("revoke", N_("Take a role away: /revoke <user> <business>"), "owners"),
    Command("block", N_("Ignore a user: /block <user>"), "owners"),
    Command("unblock", N_("Stop ignoring a user: /unblock <user>"), "owners"),
    Command("audit", N_("The log of admin actions"), "owners"),
)


def menu(level: str | None = None) -> list[Command]:
    """The commands of the menu of someone whose highest role is ``level`` (``None``: no role,
    the menu everyone sees; else ``staff``, ``admin`` or ``owner``), in order."""
    reach = {None: 0, "staff": 1, "admin": 2, "owner": 3}.get(level, 0)
    return [c for c in COMMANDS if c.listed and AUDIENCES.index(c.audience) <= reach]


def audience_of(name: str) -> Audience | None:
    """Who may use the command ``name`` (``None``: no such command)."""
    return next((c.audience for c in COMMANDS if c.name == name), None)


__all__ = ["AUDIENCES", "COMMANDS", "Command", "audience_of", "menu"]
