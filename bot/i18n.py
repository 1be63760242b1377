"""Every user-facing text goes through :func:`gettext`.

Catalogs are gettext ``.po`` files under ``bot/locales/<lang>/LC_MESSAGES/bookbot.po``, read with
Babel at first use (no compiled ``.mo`` files to keep in sync). Message ids are the English texts;
placeholders use ``str.format`` names (``{name}``). Dates, times and prices are formatted for the
user's language with Babel.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date as _format_date
from babel.dates import format_skeleton
from babel.dates import format_time as _format_time
from babel.messages.pofile import read_po
from babel.numbers import format_currency

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "bookbot"
DEFAULT_LANGUAGE = "en"
#: Languages with a complete catalog; the first is the fallback.
LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français"}


@cache
def _catalog(language: str) -> dict[str, str]:
    path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    return {
        str(m.id): str(m.string)
        for m in catalog
        if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }


def N_(message: str) -> str:
    """Marks a message id for extraction where it is defined (a table of texts); it is
    translated later, where it is shown, by :func:`gettext`."""
    return message


def pick_language(*candidates: str | None) -> str:
    """The first supported language among ``candidates`` (``"fr-CA"`` counts as ``"fr"``)."""
    for candidate in candidates:
        if candidate:
            short = candidate.replace("_", "-").split("-")[0].lower()
            if short in LANGUAGES:
                return short
    return DEFAULT_LANGUAGE


def gettext(language: str, message: str, **kwargs: object) -> str:
    """``message`` translated to ``language`` and formatted with ``kwargs``."""
    translated = _catalog(language).get(message, message) if language != "en" else message
    return translated.format(**kwargs) if kwargs else translated


# Babel's formatting costs tens of microseconds a call and a calendar or slot screen makes
# dozens; each result depends only on the arguments, so they are cached (bounded).
@lru_cache(maxsize=4096)
def format_day(day: date, language: str) -> str:
    """ "Monday 23 November 2026" / "lundi 23 novembre 2026"."""
    return _format_date(day, format="full", locale=language)


@lru_cache(maxsize=4096)
def format_date(day: date, language: str) -> str:
    """ "January 5, 1990" / "5 janvier 1990" (a date of birth: no weekday)."""
    return _format_date(day, format="long", locale=language)


@lru_cache(maxsize=4096)
def format_short_day(day: date, language: str) -> str:
    return format_skeleton("MMMEd", datetime.combine(day, datetime.min.time()), locale=language)


def format_clock(moment: datetime, language: str) -> str:
    """Wall-clock time in the moment's own time zone ("14:30", or "2:30 PM" in en)."""
    return _clock(moment.hour, moment.minute, language)


@lru_cache(maxsize=4096)
def _clock(hour: int, minute: int, language: str) -> str:
    # The short time pattern shows hours and minutes only (no zone), so the wall-clock reading
    # is all it depends on.
    return _format_time(time(hour, minute), format="short", locale=language)


@lru_cache(maxsize=4096)
def format_month(day: date, language: str) -> str:
    return format_skeleton("yMMMM", datetime.combine(day, datetime.min.time()), locale=language)


@lru_cache(maxsize=4096)
def format_price(amount: Decimal, currency: str, language: str) -> str:
    return format_currency(amount, currency, locale=language)


def weekday_initials(language: str) -> list[str]:
    names = Locale.parse(language).days["stand-alone"]["narrow"]
    return [str(names[i]) for i in range(7)]
