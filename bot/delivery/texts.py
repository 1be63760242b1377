"""User-facing texts of the delivery engine, through the bot's one translation function.

Message ids are English; :data:`MSGIDS` lists them all so the catalogs can be kept complete.
"""

from __future__ import annotations

from datetime import datetime


def _(language: str, message: str, **kwargs: object) -> str:
    """``message`` translated into ``language`` (falls back to English formatting when the
    translation module is unavailable, e.g. in a stripped-down dispatcher image)."""
    try:
        from bot.i18n import gettext
    except ImportError:  # pragma: no cover - the bot always ships bot.i18n
        return message.format(**kwargs) if kwargs else message
    return gettext(language, message, **kwargs)


def language_of(*candidates: str | None) -> str:
    """The first supported language among ``candidates``."""
    try:
        from bot.i18n import pick_language
    except ImportError:  # pragma: no cover
        return next((c for c in candidates if c), "en")
    return pick_language(*candidates)


def when(moment: datetime, language: str) -> tuple[str, str]:
    """(day, time) of an aware ``moment`` for display, in ``moment``'s own time zone."""
    from bot.i18n import format_clock, format_day

    return format_day(moment.date(), language), format_clock(moment, language)


REMINDER = "Reminder: {service} at {business}, {day} at {time}."
REMINDER_WITH = "Reminder: {service} with {resource} at {business}, {day} at {time}."
BUTTON_ATTEND = "I'll be there"
BUTTON_RESCHEDULE = "Reschedule"
BUTTON_CANCEL = "Cancel"
ATTEND_DONE = "Thank you, see you then!"
CANCEL_ASK = "Cancel this appointment?"
BUTTON_CANCEL_YES = "Yes, cancel it"
BUTTON_CANCEL_NO = "No, keep it"
CANCEL_DONE = "Your appointment has been cancelled."
CANCEL_FAILED = "The appointment could not be cancelled right now. Please try again later."
NOT_YOURS = "This button is not for you."
NOT_ACTIVE = "This appointment is no longer active."
SETTINGS_TITLE = "Your notification settings. Tap to turn on or off."
SETTINGS_NONE = "You have no notification settings yet."
SETTINGS_REMINDERS_ON = "Reminders from {business}: on"
SETTINGS_REMINDERS_OFF = "Reminders from {business}: off"
SETTINGS_NEWS_ON = "News from {business}: on"
SETTINGS_NEWS_OFF = "News from {business}: off"
NOTICE_CONFIRMED = "New booking at {business}"
NOTICE_MOVED = "Booking moved at {business}"
NOTICE_CANCELLED = "Booking cancelled at {business}"
NOTICE_WHAT = "{service} with {staff}, {day} at {time}"
NOTICE_WHO = "Customer: {customer}, phone {phone}"
BUTTON_CALL = "📞 Call"
BUTTON_MESSAGE = "💬 Message"
BUTTON_MUTE_CONFIRMED = "Mute new-booking notices"
BUTTON_MUTE_MOVED = "Mute moved-booking notices"
BUTTON_MUTE_CANCELLED = "Mute cancellation notices"
BUTTON_MUTE = {
    "confirmed": BUTTON_MUTE_CONFIRMED,
    "moved": BUTTON_MUTE_MOVED,
    "cancelled": BUTTON_MUTE_CANCELLED,
}
BROADCAST_PROGRESS = "{sent} of {total} sent, {failed} failed, {blocked} blocked the bot"
BROADCAST_REPORT = (
    "Broadcast finished: {sent} of {total} sent, {failed} failed, {blocked} blocked the bot, "
    "{skipped} skipped."
)

MSGIDS: tuple[str, ...] = tuple(
    value for name, value in dict(globals()).items() if name.isupper() and isinstance(value, str)
)
