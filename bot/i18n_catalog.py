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
    platform's (below).

Where message ids are found:

- Babel's Python extractor, with the translation entry points as keywords: ``t`` and ``notice``
  (``Turn.t``, ``Turn.notice``, and the ``t`` helper of ``bot.engine.summary``), the second argument
  of ``gettext(language, message)`` and of ``bot.delivery.texts._(language, message)``, ``N_``
  (tables of texts, and in ``providers/`` the adapters' texts for the user: ``providers.base.N_``,
  the twin of ``bot.i18n.N_`` for code that does not import the bot) and ``InvalidInput``
  (validation errors). ``Turn.show`` takes text that is already translated, so it is not a
  keyword.
- A pass over the syntax tree of those same arguments, for the literals Babel does not see:
  fallbacks (``refused.message or "..."``, ``TABLE.get(key, "...")``, ``a if c else "..."``) and
  strings wrapped in extra parentheses. It also vets Babel's output: Babel joins all the
  literals of one argument (``t("Yes" if c else "No")`` reads as "YesNo"), so an id Babel
  reports that is not one literal of the source is dropped.
- A module may list its message ids in a module-level ``MSGIDS`` tuple (``bot.delivery.texts``);
  the module is imported and every id in it is included.

English needs no catalog: message ids are the English texts.

Adapter texts: a provider error's text reaches the user only when the adapter marked it (see
``providers.base.ProviderError``), either ``N_("...")`` (ours: extracted here, so ``check``
demands its translations) or ``platform_text(...)`` (the platform's own words, shown as they
are). A string literal given to ``platform_text`` (or to ``PlatformText``/``UserText``
directly) would be English of ours reaching a French user untranslated, so ``check`` refuses it.
"""

from __future__ import annotations

import ast
import importlib
import io
import string
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.i18n import DEFAULT_LANGUAGE, DOMAIN, LANGUAGES, LOCALES_DIR

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("bot", "providers")
TEMPLATE = LOCALES_DIR / f"{DOMAIN}.pot"
#: Function name -> position (1-based) of the message id among its arguments.
KEYWORDS: dict[str, int] = {
    "t": 1,
    "notice": 1,
    "gettext": 2,
    "_": 2,
    "N_": 1,
    "InvalidInput": 1,
}
#: Marks for text shown as it is (the platform's words): no literal of ours may go through them.
AS_IS_MARKS = ("platform_text", "PlatformText", "UserText")
HEADER = """\
Translations of bookbot, the appointment booking bot.
Message ids are the English texts; keep every {placeholder} exactly as it is.
French: a no-break space (U+00A0) goes before : ; ? ! and inside « », so Telegram never
wraps the sign alone onto the next line.
Regenerate with: python -m bot.i18n_catalog extract && python -m bot.i18n_catalog update"""

Location = tuple[str, int]


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


# -- extraction ------------------------------------------------------------------------------
def extract(root: Path = ROOT) -> Catalog:
    """Every message id under ``root``'s source folders, as a template catalog."""
    catalog = Catalog(
        domain=DOMAIN,
        project="bookbot",
        version=_version(),
        header_comment=_header_comment(),
        fuzzy=False,
    )
    found: dict[str, list[Location]] = {}
    for path, line, msgid in _everything(root):
        found.setdefault(msgid, [])
        if (path, line) not in found[msgid]:
            found[msgid].append((path, line))
    for msgid, locations in found.items():
        catalog.add(msgid, locations=locations, flags=_flags(msgid))
    return catalog


def _everything(root: Path) -> Iterator[tuple[str, int, str]]:
    from_tree = list(_tree_messages(root))
    literals = {msgid for _, _, msgid in from_tree}
    seen: set[str] = set()
    for path, line, msgid in _babel_messages(root):
        # Babel joins every literal of an argument: ``t("Yes" if c else "No")`` gives "YesNo".
        # Only ids that exist as one literal in the source are kept.
        if msgid in literals:
            seen.add(msgid)
            yield path, line, msgid
    for path, line, msgid in from_tree:
        if msgid not in seen:
            yield path, line, msgid
    yield from _declared_messages(root)


def _babel_messages(root: Path) -> Iterator[tuple[str, int, str]]:
    keywords = {name: (None if index == 1 else (index,)) for name, index in KEYWORDS.items()}
    for folder in SOURCE_DIRS:
        for filename, line, message, _comments, _context in extract_from_dir(
            root / folder,
            method_map=[("**.py", "python")],
            keywords=keywords,
            comment_tags=(),
        ):
            if isinstance(message, str) and message:
                yield f"{folder}/{filename}", line, message


def _python_files(root: Path) -> Iterator[tuple[str, ast.Module]]:
    for folder in SOURCE_DIRS:
        for path in sorted((root / folder).rglob("*.py")):
            relative = path.relative_to(root)
            if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
                continue
            yield relative.as_posix(), ast.parse(path.read_text(encoding="utf-8"), str(path))


def _called_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def _keyword_arguments(tree: ast.Module) -> Iterator[ast.expr]:
    """The argument in message-id position of every call to a keyword function."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _called_name(node)
        if name in KEYWORDS and len(node.args) >= KEYWORDS[name]:
            yield node.args[KEYWORDS[name] - 1]


def _literals(expr: ast.expr) -> Iterator[ast.Constant]:
    """String literals that ``expr`` can evaluate to, through fallbacks and choices."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        yield expr
    elif isinstance(expr, ast.BoolOp):
        for value in expr.values:
            yield from _literals(value)
    elif isinstance(expr, ast.IfExp):
        yield from _literals(expr.body)
        yield from _literals(expr.orelse)
    elif (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and expr.func.attr == "get"
        and len(expr.args) == 2
    ):
        yield from _literals(expr.args[1])


def _tree_messages(root: Path) -> Iterator[tuple[str, int, str]]:
    for path, tree in _python_files(root):
        for argument in _keyword_arguments(tree):
            for literal in _literals(argument):
                if literal.value:
                    yield path, literal.lineno, str(literal.value)


def _declared_messages(root: Path) -> Iterator[tuple[str, int, str]]:
    """Ids listed in a module's ``MSGIDS`` (the module is imported to read it)."""
    for path, tree in _python_files(root):
        if not any(_assigns(node, "MSGIDS") for node in tree.body):
            continue
        lines: dict[str, int] = {
            str(node.value.value): node.lineno
            for node in tree.body
            if isinstance(node, ast.Assign | ast.AnnAssign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        }
        module_name = path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        module = importlib.import_module(module_name)
        for msgid in module.MSGIDS:
            if isinstance(msgid, str) and msgid:
                yield path, lines.get(msgid, 1), msgid


def _assigns(node: ast.stmt, name: str) -> bool:
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
    return (
        isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and node.target.id == name
    )


def dynamic_message_ids(root: Path = ROOT) -> list[tuple[str, int, str]]:
    """Calls whose message id is built at run time (f-strings, ``.format``, ``%``, ``+``): no
    catalog can hold those, so ``check`` refuses them."""
    found = []
    for path, tree in _python_files(root):
        for argument in _keyword_arguments(tree):
            built = isinstance(argument, ast.JoinedStr | ast.BinOp) or (
                isinstance(argument, ast.Call)
                and isinstance(argument.func, ast.Attribute)
                and argument.func.attr == "format"
                and isinstance(argument.func.value, ast.Constant)
            )
            if built:
                found.append((path, argument.lineno, ast.unparse(argument)))
    return found


def literals_shown_as_is(root: Path = ROOT) -> list[tuple[str, int, str]]:
    """String literals of ours marked as the platform's words (``platform_text("...")``, also
    through fallbacks): shown as they are, they would never be translated, so ``check`` refuses
    them. Our sentences are marked with ``N_`` instead."""
    found: list[tuple[str, int, str]] = []
    for path, tree in _python_files(root):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _called_name(node) in AS_IS_MARKS and node.args:
                found.extend(
                    (path, literal.lineno, str(literal.value))
                    for literal in _literals(node.args[0])
                    if literal.value
                )
    return found


def _flags(msgid: str) -> tuple[str, ...]:
    return ("python-brace-format",) if placeholders(msgid) else ()


def _version() -> str | None:
    try:
        return metadata.version("bookbot")
    except metadata.PackageNotFoundError:
        return None


def _header_comment() -> str:
    return "\n".join(f"# {line}" if line else "#" for line in HEADER.splitlines())


# -- placeholders ----------------------------------------------------------------------------
def placeholders(text: str) -> set[str]:
    """The ``str.format`` field names in ``text``; ``ValueError`` on unbalanced braces."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


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
                header_comment=_header_comment(),
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
        try:
            placeholders(str(message.id))
        except ValueError:
            problems.append(
                Problem("*", str(message.id), "unbalanced braces", tuple(message.locations))
            )
    for language in translated_languages():
        path = catalog_path(language, locales)
        catalog = read_catalog(path, language) if path.exists() else Catalog(locale=language)
        for message in template:
            if not message.id:
                continue
            msgid = str(message.id)
            where = tuple(message.locations)
            translation = catalog.get(msgid)
            if translation is None or not translation.string:
                problems.append(Problem(language, msgid, "no translation", where))
            elif translation.fuzzy:
                problems.append(Problem(language, msgid, "fuzzy translation (not used)", where))
            else:
                problems.extend(
                    _placeholder_problems(language, msgid, str(translation.string), where)
                )
    return problems


def _placeholder_problems(
    language: str, msgid: str, translation: str, where: tuple[Location, ...]
) -> Iterable[Problem]:
    try:
        expected, actual = placeholders(msgid), placeholders(translation)
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
