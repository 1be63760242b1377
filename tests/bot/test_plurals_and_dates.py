"""Counts go through gettext's ngettext ("sent to 1 customer"), and every date and time a user
reads, buttons included, is Babel's in the user's language (never ``05/01 10:00``)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from bot.i18n import format_clock, format_day, format_short_moment, ngettext
from bot.i18n_catalog import catalog_path, check
from bot.i18n_extract import dynamic_message_ids, extract
from bot.services import Services
from tests.bot.harness import running_bot
from tests.bot.test_local_booking import book_haircut

ONE = "Preview above. It will be sent to {count} customer of {business}."
MANY = "Preview above. It will be sent to {count} customers of {business}."


def test_the_count_picks_the_plural_form_of_each_language() -> None:
    def said(language: str, n: int) -> str:
        return ngettext(language, ONE, MANY, n, count=n, business="Salon")

    assert said("en", 1) == "Preview above. It will be sent to 1 customer of Salon."
    assert said("en", 0) == "Preview above. It will be sent to 0 customers of Salon."
    assert said("en", 2) == "Preview above. It will be sent to 2 customers of Salon."
    # French says "0 client", singular: the catalog's Plural-Forms decide, not English's rule
    assert said("fr", 0) == "Aperçu ci-dessus. Il sera envoyé à 0 client de Salon."
    assert said("fr", 1) == "Aperçu ci-dessus. Il sera envoyé à 1 client de Salon."
    assert said("fr", 5) == "Aperçu ci-dessus. Il sera envoyé à 5 clients de Salon."


def test_plural_messages_are_extracted_as_pairs_and_checked_form_by_form(tmp_path: Path) -> None:
    (tmp_path / "bot").mkdir()
    (tmp_path / "providers").mkdir()
    (tmp_path / "bot" / "counts.py").write_text(
        "def show(turn, language, n):\n"
        '    turn.tn("{n} seat", "{n} seats", n, n=n)\n'
        '    ngettext(language, "{n} day", "{n} days", n, n=n)\n'
        '    turn.tn(f"{n} built", "{n} builts", n)\n',
        encoding="utf-8",
    )
    template = extract(tmp_path)
    assert {m.id for m in template if m.id} == {("{n} seat", "{n} seats"), ("{n} day", "{n} days")}
    assert [line for _, line, _ in dynamic_message_ids(tmp_path)] == [4]

    path = catalog_path("fr", tmp_path)
    path.parent.mkdir(parents=True)
    # French as our catalog declares it: two forms (0 and 1, then more)
    path.write_text(
        'msgid ""\nmsgstr ""\n"Language: fr\\n"\n"Plural-Forms: nplurals=2; plural=(n > 1);\\n"\n\n'
        'msgid "{n} seat"\nmsgid_plural "{n} seats"\nmsgstr[0] "{n} place"\nmsgstr[1] ""\n\n'
        'msgid "{n} day"\nmsgid_plural "{n} days"\nmsgstr[0] "{n} jour"\n'
        'msgstr[1] "{nombre} jours"\n',
        encoding="utf-8",
    )
    problems = {
        (p.msgid, p.reason) for p in check(template, tmp_path, tmp_path) if p.language == "fr"
    }
    assert problems == {
        ("{n} seat", "needs 2 plural forms"),
        ("{n} day", "placeholders differ (message id ['n'], translation ['nombre'])"),
    }


def test_a_short_moment_is_babels_day_and_clock_in_the_users_language() -> None:
    moment = datetime(2027, 1, 5, 10, 0)
    assert format_short_moment(moment, "en") == "Tue, Jan 5, 10:00\u202fAM"
    assert format_short_moment(moment, "fr") == "mar. 5 janv. 10:00"
    # the same clock as the free times and the summary show
    assert format_clock(moment, "en") in format_short_moment(moment, "en")


async def test_mybookings_buttons_show_the_date_the_way_the_list_does(services: Services) -> None:
    async with running_bot(services) as chat:
        await book_haircut(chat)
        await chat.press("✅ Confirm")
        await chat.send("/mybookings")
        cancel = next(label for label in chat.labels if label.startswith("✖ Cancel"))
        assert not re.search(r"\d{2}/\d{2}", cancel), cancel  # not "05/01 10:00"
        when = cancel.removeprefix("✖ Cancel ")
        day_name = when.split(",")[0]  # "Tue"
        assert day_name in {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
        line = chat.text.splitlines()[-1]  # "• Tuesday, January 5, 2027 at 10:00 AM — ..."
        assert line.startswith("• " + next(d for d in _full_days() if d.startswith(day_name)))
        assert when.rsplit(", ", 1)[1] in line  # the same clock


def _full_days() -> list[str]:
    return [format_day(datetime(2027, 1, d).date(), "en").split(",")[0] for d in range(4, 11)]


def test_a_hold_of_one_minute_is_said_in_the_singular() -> None:
    one, many = (
        "This time is held for you for {minutes} minute.",
        "This time is held for you for {minutes} minutes.",
    )
    assert ngettext("en", one, many, 1, minutes=1) == "This time is held for you for 1 minute."
    assert (
        ngettext("fr", one, many, 1, minutes=1) == "Cet horaire vous est réservé pendant 1 minute."
    )
    assert {m.id for m in extract() if isinstance(m.id, tuple)} >= {(one, many)}
