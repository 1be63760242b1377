"""Where :mod:`bot.i18n_catalog` finds the message ids of ``bot/`` and ``providers/``, and the
literals of ours that its ``check`` refuses (the extraction half of that tool, in a module of its
own so that each half stays small).

Where message ids are found:

- Babel's Python extractor, with the translation entry points as keywords: ``t`` and ``notice``
  (``Turn.t``, ``Turn.notice``, and the ``t`` helper of ``bot.engine.summary``), the second argument
  of ``gettext(language, message)`` and of ``bot.delivery.texts._(language, message)``, ``N_``
  (tables of texts, and in ``providers/`` the adapters' texts for the user: ``providers.base.N_``,
  the twin of ``bot.i18n.N_`` for code that does not import the bot) and ``InvalidInput``
  (validation errors). ``Turn.show`` takes text that is already translated, so it is not a
  keyword. Plural messages (:data:`PLURAL_KEYWORDS`: ``Turn.tn`` and ``ngettext(language, ...)``)
  give a singular and a plural id, kept together as one entry.
- A pass over the syntax tree of those same arguments, for the literals Babel does not see:
  fallbacks (``refused.message or "..."``, ``TABLE.get(key, "...")``, ``a if c else "..."``) and
  strings wrapped in extra parentheses. It also vets Babel's output: Babel joins all the
  literals of one argument (``t("Yes" if c else "No")`` reads as "YesNo"), so an id Babel
  reports that is not one literal of the source is dropped.
- A module may list its message ids in a module-level ``MSGIDS`` tuple (``bot.delivery.texts``);
  the module is imported and every id in it is included.

Adapter texts: a provider error's text reaches the user only when the adapter marked it (see
``providers.base.ProviderError``), either ``N_("...")`` (ours: extracted here, so ``check``
demands its translations) or ``platform_text(...)`` (the platform's own words, shown as they
are). A string literal given to ``platform_text`` (or to ``PlatformText``/``UserText``
directly) would be English of ours reaching a French user untranslated, so ``check`` refuses it.
"""

from __future__ import annotations

import ast
import importlib
import string
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir

from bot.i18n import DOMAIN

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("bot", "providers")
#: Function name -> position (1-based) of the message id among its arguments.
KEYWORDS: dict[str, int] = {
    "t": 1,
    "notice": 1,
    "gettext": 2,
    "_": 2,
    "N_": 1,
    "InvalidInput": 1,
}
#: Plural forms: function name -> position (1-based) of the singular; the plural follows it.
PLURAL_KEYWORDS: dict[str, int] = {"tn": 1, "ngettext": 2}
#: Marks for text shown as it is (the platform's words): no literal of ours may go through them.
AS_IS_MARKS = ("platform_text", "PlatformText", "UserText")
HEADER = """\
Translations of bookbot, the appointment booking bot.
Message ids are the English texts; keep every {placeholder} exactly as it is.
French: a no-break space (U+00A0) goes before : ; ? ! and inside « », so Telegram never
wraps the sign alone onto the next line.
Regenerate with: python -m bot.i18n_catalog extract && python -m bot.i18n_catalog update"""

Location = tuple[str, int]
#: a message id: one text, or a singular and a plural
MessageId = str | tuple[str, str]


# -- extraction ------------------------------------------------------------------------------
def extract(root: Path = ROOT) -> Catalog:
    """Every message id under ``root``'s source folders, as a template catalog."""
    catalog = Catalog(
        domain=DOMAIN,
        project="bookbot",
        version=_version(),
        header_comment=header_comment(),
        fuzzy=False,
    )
    found: dict[MessageId, list[Location]] = {}
    for path, line, msgid in _everything(root):
        found.setdefault(msgid, [])
        if (path, line) not in found[msgid]:
            found[msgid].append((path, line))
    for msgid, locations in found.items():
        catalog.add(msgid, locations=locations, flags=_flags(msgid))
    return catalog


def _everything(root: Path) -> Iterator[tuple[str, int, MessageId]]:
    from_tree = list(_tree_messages(root))
    literals = {msgid for _, _, msgid in from_tree}
    seen: set[MessageId] = set()
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


def _babel_messages(root: Path) -> Iterator[tuple[str, int, MessageId]]:
    keywords: dict[str, tuple[int, ...] | None] = {
        name: (None if index == 1 else (index,)) for name, index in KEYWORDS.items()
    }
    keywords.update({name: (index, index + 1) for name, index in PLURAL_KEYWORDS.items()})
    for folder in SOURCE_DIRS:
        for filename, line, message, _comments, _context in extract_from_dir(
            root / folder,
            method_map=[("**.py", "python")],
            keywords=keywords,
            comment_tags=(),
        ):
            if isinstance(message, str) and message:
                yield f"{folder}/{filename}", line, message
            elif isinstance(message, tuple) and len(message) == 2 and all(message):
                yield f"{folder}/{filename}", line, (str(message[0]), str(message[1]))


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


def _tree_messages(root: Path) -> Iterator[tuple[str, int, MessageId]]:
    for path, tree in _python_files(root):
        for argument in _keyword_arguments(tree):
            for literal in _literals(argument):
                if literal.value:
                    yield path, literal.lineno, str(literal.value)
        for singular, plural in _plural_arguments(tree):
            if all(
                isinstance(a, ast.Constant) and isinstance(a.value, str) for a in (singular, plural)
            ):
                pair = (str(getattr(singular, "value", "")), str(getattr(plural, "value", "")))
                yield path, singular.lineno, pair


def _plural_arguments(tree: ast.Module) -> Iterator[tuple[ast.expr, ast.expr]]:
    """The singular and plural arguments of every call to a plural keyword function."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (name := _called_name(node)) in PLURAL_KEYWORDS:
            index = PLURAL_KEYWORDS[name]
            if len(node.args) > index:
                yield node.args[index - 1], node.args[index]


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
        plural = [a for pair in _plural_arguments(tree) for a in pair]
        for argument in [*_keyword_arguments(tree), *plural]:
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


def _flags(msgid: MessageId) -> tuple[str, ...]:
    texts = msgid if isinstance(msgid, tuple) else (msgid,)
    return ("python-brace-format",) if any(placeholders(t) for t in texts) else ()


def _version() -> str | None:
    try:
        return metadata.version("bookbot")
    except metadata.PackageNotFoundError:
        return None


def header_comment() -> str:
    """The comment at the top of the template and of every new language catalog."""
    return "\n".join(f"# {line}" if line else "#" for line in HEADER.splitlines())


# -- placeholders ----------------------------------------------------------------------------
def placeholders(text: str) -> set[str]:
    """The ``str.format`` field names in ``text``; ``ValueError`` on unbalanced braces."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
