"""Layers point down: storage imports neither the bot nor a platform's adapter (the engine
schedules reminders from the changes storage's writes answer with)."""

from __future__ import annotations

import ast
from pathlib import Path

STORAGE = Path(__file__).resolve().parents[2] / "storage"
#: what storage may use of the providers: their interface's domain types
ALLOWED_PROVIDERS = {"providers.base"}


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, type-checking-only imports included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_storage_imports_neither_the_bot_nor_an_adapter() -> None:
    files = sorted(STORAGE.glob("*.py"))
    assert len(files) > 5  # the folder was found
    upward = {
        f"{path.name}: {module}"
        for path in files
        for module in imported_modules(path)
        if module.split(".")[0] == "bot"
        or (module.split(".")[0] == "providers" and module not in ALLOWED_PROVIDERS)
    }
    assert upward == set()


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from bot.config import BusinessConfig\n"
        "import providers.local.adapter\n"
    )
    assert {"bot.config", "providers.local.adapter"} <= imported_modules(sample)
