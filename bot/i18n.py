"""Every user-facing text goes through :func:`gettext`.

Catalogs are gettext ``.po`` files under ``bot/locales/<lang>/LC_MESSAGES/bookbot.po``, read with
Babel at first use and compiled in memory for the standard library's :mod:`gettext` (no ``.mo``
files to keep in sync), which also picks plural forms by the catalog's ``Plural-Forms``
(:func:`ngettext`: "1 customer", "2 customers"). Message ids are the English texts; placeholders
use ``str.format`` names (``{name}``). Dates, times, numbers and prices are formatted for the
user's language with Babel.
"""

from __future__ import annotations

import gettext as _gettext
import io
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date as _format_date
from babel.dates import format_skeleton, get_datetime_format
from babel.dates import format_time as _format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "bookbot"
DEFAULT_LANGUAGE = "en"
#: Languages with a complete catalog; the first is the fallback.
LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français"}


@cache
def _translations(language: str) -> _gettext.NullTranslations:
    """``language``'s catalog (its ``.po`` compiled in memory; fuzzy and empty translations
    left out, so their English message ids are shown); English and unknown languages get the
    message ids themselves."""
    path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == DEFAULT_LANGUAGE or not path.exists():
        return _gettext.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return _gettext.GNUTranslations(compiled)


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
    translated = _translations(language).gettext(message)
    return translated.format(**kwargs) if kwargs else translated


def ngettext(language: str, singular: str, plural: str, n: int, **kwargs: object) -> str:
    """The form of ``singular``/``plural`` that ``n`` takes in ``language`` (French says
    "0 client", English "0 customers"), formatted with ``kwargs``."""
    translated = _translations(language).ngettext(singular, plural, n)
    return translated.format(**kwargs) if kwargs else translated


@lru_cache(maxsize=1024)
def format_number(n: int, language: str) -> str:
    """ "1,234" / "1 234"."""
    return format_decimal(n, locale=language)


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


def format_short_moment(moment: datetime, language: str) -> str:
    """A day and a time short enough for a button, in the moment's own time zone
    ("Tue, Jan 5, 10:00 AM" / "mar. 5 janv., 10:00"): the short day and the clock joined
    the way the language joins a date and a time."""
    day = format_short_day(moment.date(), language)
    return _joiner(language).format(format_clock(moment, language), day)


@cache
def _joiner(language: str) -> str:
    # CLDR's pattern with {0} the time and {1} the date ("{1}, {0}"; quotes mark literals).
    return str(get_datetime_format("short", locale=language)).replace("'", "")


@lru_cache(maxsize=4096)
def format_month(day: date, language: str) -> str:
    return format_skeleton("yMMMM", datetime.combine(day, datetime.min.time()), locale=language)


@lru_cache(maxsize=4096)
def format_price(amount: Decimal, currency: str, language: str) -> str:
    return format_currency(amount, currency, locale=language)


def weekday_initials(language: str) -> list[str]:
    names = Locale.parse(language).days["stand-alone"]["narrow"]
    return [str(names[i]) for i in range(7)]
