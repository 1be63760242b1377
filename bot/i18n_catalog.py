"""Keeps the gettext catalogs of :mod:`bot.i18n` complete.

``python -m bot.i18n_catalog extract``
    collects every message id from ``bot/`` and ``providers/`` into ``bot/locales/bookbot.pot``;
``python -m bot.i18n_catalog update``
    merges that template into each ``bot/locales/<lang>/LC_MESSAGES/bookbot.po``, keeping the
    translations (a changed message keeps its old translation marked fuzzy, which the bot does not
    use until a translator reviews it);
``python -m bot.i18n_catalog check``
    extracts afresh (a stale template cannot hide a new message) and exits non-zero listing every
    message id that some supported language has no usable translation for, every translation
    whose ``{placeholders}`` differ from its message id's, and every text of ours passed off as a
    platform's (see :mod:`bot.i18n_extract`).

Where message ids are found, and which literals ``check`` refuses: :mod:`bot.i18n_extract`.

English needs no catalog: message ids are the English texts.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

from bot.i18n import DEFAULT_LANGUAGE, DOMAIN, LANGUAGES, LOCALES_DIR
from bot.i18n_extract import (
    ROOT,
    Location,
    dynamic_message_ids,
    extract,
    header_comment,
    literals_shown_as_is,
    placeholders,
)

TEMPLATE = LOCALES_DIR / f"{DOMAIN}.pot"


@dataclass(frozen=True)
class Problem:
    """Something ``check`` refuses, with where it comes from."""

    language: str
    msgid: str
    reason: str
    locations: tuple[Location, ...] = ()

    def __str__(self) -> str:
        where = ", ".join(f"{path}:{line}" for path, line in self.locations[:3])
        return f"[{self.language}] {self.reason}: {self.msgid!r}" + (f" ({where})" if where else "")


# -- catalogs --------------------------------------------------------------------------------
def catalog_path(language: str, locales: Path = LOCALES_DIR) -> Path:
    return locales / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def translated_languages() -> list[str]:
    """Languages whose catalog must be complete: every supported one but English."""
    return [code for code in LANGUAGES if code != DEFAULT_LANGUAGE]


def read_catalog(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def render(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, include_lineno=False, ignore_obsolete=False)
    return buffer.getvalue()


def _write_if_changed(path: Path, catalog: Catalog) -> bool:
    """Write ``catalog`` unless only its dates would change (keeps diffs to real changes)."""
    new = render(catalog)
    if path.exists() and _without_dates(path.read_bytes()) == _without_dates(new):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(new)
    return True


def _without_dates(content: bytes) -> list[bytes]:
    return [
        line
        for line in content.splitlines()
        if not line.startswith((b'"POT-Creation-Date:', b'"PO-Revision-Date:'))
    ]


def write_template(template: Catalog) -> bool:
    return _write_if_changed(TEMPLATE, template)


def update(template: Catalog) -> list[str]:
    """Merge ``template`` into every language's catalog (creating missing ones); returns the
    languages whose file changed."""
    languages = set(translated_languages())
    if LOCALES_DIR.exists():
        languages |= {p.name for p in LOCALES_DIR.iterdir() if (p / "LC_MESSAGES").is_dir()}
    changed = []
    for language in sorted(languages):
        path = catalog_path(language)
        if path.exists():
            catalog = read_catalog(path, language)
        else:
            catalog = Catalog(
                locale=Locale.parse(language),
                domain=DOMAIN,
                project="bookbot",
                header_comment=header_comment(),
                fuzzy=False,
            )
        catalog.update(template, update_header_comment=True)
        if _write_if_changed(path, catalog):
            changed.append(language)
    return changed


def check(
    template: Catalog | None = None, root: Path = ROOT, locales: Path = LOCALES_DIR
) -> list[Problem]:
    """Every reason the catalogs are not complete and correct; empty when they are.

    ``template`` defaults to a fresh extraction from ``root``, so a stale ``.pot`` hides nothing.
    """
    template = template if template is not None else extract(root)
    problems: list[Problem] = [
        Problem("*", text, "message id built at run time", ((path, line),))
        for path, line, text in dynamic_message_ids(root)
    ]
    problems += [
        Problem("*", text, "our text marked as the platform's: use N_", ((path, line),))
        for path, line, text in literals_shown_as_is(root)
    ]
    for message in template:
        if not message.id:
            continue
        for text in _ids(message.id):
            try:
                placeholders(text)
            except ValueError:
                problems.append(Problem("*", text, "unbalanced braces", tuple(message.locations)))
    for language in translated_languages():
        path = catalog_path(language, locales)
        catalog = read_catalog(path, language) if path.exists() else Catalog(locale=language)
        for message in template:
            if message.id:
                problems.extend(_translation_problems(language, catalog, message))
    return problems


def _ids(msgid: object) -> tuple[str, ...]:
    """The texts of a message id: one, or a singular and a plural."""
    return tuple(str(i) for i in msgid) if isinstance(msgid, list | tuple) else (str(msgid),)


def _translation_problems(language: str, catalog: Catalog, message: Message) -> list[Problem]:
    """Why ``message`` has no usable translation in ``catalog``: missing, fuzzy, a plural form
    missing (French has two: 0 and 1, and more), or placeholders that differ."""
    ids = _ids(message.id)
    msgid, where = ids[0], tuple(message.locations)
    translation = catalog.get(msgid)
    if translation is None or not translation.string:
        return [Problem(language, msgid, "no translation", where)]
    if translation.fuzzy:
        return [Problem(language, msgid, "fuzzy translation (not used)", where)]
    forms = _ids(translation.string)
    if len(ids) > 1 and (len(forms) < catalog.num_plurals or not all(forms)):
        return [Problem(language, msgid, f"needs {catalog.num_plurals} plural forms", where)]
    expected = {field for text in ids for field in _fields_or_none(text)}
    return [
        problem
        for form in forms
        for problem in _placeholder_problems(language, msgid, form, where, expected)
    ]


def _fields_or_none(text: str) -> set[str]:
    try:
        return placeholders(text)
    except ValueError:
        return set()


def _placeholder_problems(
    language: str,
    msgid: str,
    translation: str,
    where: tuple[Location, ...],
    expected: set[str] | None = None,
) -> Iterable[Problem]:
    try:
        expected = placeholders(msgid) if expected is None else expected
        actual = placeholders(translation)
    except ValueError:
        return [Problem(language, msgid, "unbalanced braces in the translation", where)]
    if expected != actual:
        reason = (
            f"placeholders differ (message id {sorted(expected)}, translation {sorted(actual)})"
        )
        return [Problem(language, msgid, reason, where)]
    return []


# -- command line ----------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else ""
    if command == "extract":
        template = extract()
        wrote = write_template(template)
        count = sum(1 for m in template if m.id)
        print(
            f"{count} messages; {TEMPLATE.relative_to(ROOT)} {'written' if wrote else 'unchanged'}"
        )
        return 0
    if command == "update":
        if not TEMPLATE.exists():
            print(f"{TEMPLATE.relative_to(ROOT)} is missing: run extract first", file=sys.stderr)
            return 2
        changed = update(read_catalog(TEMPLATE))
        print("updated: " + (", ".join(changed) if changed else "nothing"))
        return 0
    if command == "check":
        problems = check()
        for problem in problems:
            print(problem)
        if problems:
            print(f"{len(problems)} problems", file=sys.stderr)
            return 1
        print("catalogs complete: " + ", ".join(translated_languages()))
        return 0
    print("usage: python -m bot.i18n_catalog extract|update|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
