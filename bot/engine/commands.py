"""The commands (``/start``, ``/book``, ``/cancel``, ``/language``, ``/help``...) and the
language a user picks."""

from __future__ import annotations

from bot.commands import COMMANDS
from bot.engine.booking import ask_restart, begin, cancel_in_progress, has_progress
from bot.engine.my_bookings import my_bookings
from bot.engine.my_details import my_details
from bot.engine.steps.base import show_current
from bot.engine.turn import MenuButton, Turn
from bot.i18n import LANGUAGES, N_
from storage import fiches as fiche_store
from storage.writes import Write


async def command(turn: Turn, command: str, argument: str) -> None:
    """Answer ``/command argument`` (anything unknown gets the help text)."""
    if command == "start":
        turn.writes.append(remember_user(turn))
        slug = _business_named(turn, argument)
        if turn.in_booking and not slug:
            turn.notice("Welcome back! Here is where you were.")
            await show_current(turn)
            return
        turn.notice("Hello! I can book you an appointment.")
        await begin(turn, slug)
    elif command == "book":
        slug = _business_named(turn, argument)
        if turn.in_booking and has_progress(turn):
            await ask_restart(turn, slug)
        else:
            await begin(turn, slug)
    elif command == "cancel":
        if turn.in_booking:
            await cancel_in_progress(turn)
        else:
            turn.show(
                turn.t(
                    "There is no booking in progress. To cancel an appointment, send /mybookings."
                )
            )
    elif command == "mybookings":
        await my_bookings(turn)
    elif command == "mydetails":
        await my_details(turn)
    elif command == "language":
        rows = [[MenuButton(name, f"l:{code}")] for code, name in LANGUAGES.items()]
        turn.show(turn.t("Which language would you like?"), rows)
    elif command in KNOWN:  # /help (and a feature's command when that feature is not running)
        turn.show(turn.t(HELP))
    else:
        await unknown_command(turn)


async def unknown_command(turn: Turn) -> None:
    """The answer to a command the bot does not have (also what a command gets from someone
    it is not for: ``bot.admin.guard``)."""
    turn.notice("I do not know that command. Send /help to see what I can do.")
    if turn.in_booking:
        await show_current(turn)  # the booking in progress stays where it was
    else:
        turn.show(turn.t(HELP))


#: every command name the bot declares (its features answer some of them before this module)
KNOWN = frozenset(c.name for c in COMMANDS)


def _business_named(turn: Turn, argument: str) -> str | None:
    """The business a ``/start`` or ``/book`` argument (a deep link's) names, or ``None``;
    an argument naming none is said so (without repeating it: it is anyone's text)."""
    slug = argument.strip()
    if not slug:
        return None
    if turn.services.config.business(slug):
        return slug
    turn.notice("That link names no business I know.")
    return None


def remember_user(turn: Turn) -> Write:
    """The write that records the user (their name and Telegram language) on /start."""
    event = turn.event
    return fiche_store.remember_user(
        event.user_id, event.first_name, event.telegram_language, event.username
    )


async def set_language(turn: Turn, language: str) -> None:
    """Speak ``language`` with this user from now on (kept in the state and the user row)."""
    turn.state.language = language
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


HELP = N_(
    "I book appointments for you.\n\n"
    "/book — make an appointment\n"
    "/mybookings — see, change or cancel your appointments\n"
    "/mydetails — see or delete the details you stored\n"
    "/settings — reminders and news on or off\n"
    "/mydata — everything stored about you, as a file\n"
    "/forget — delete your data\n"
    "/cancel — stop the booking in progress\n"
    "/language — choose the language\n"
    "/help — this message"
)
