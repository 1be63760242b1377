from pathlib import Path

from bot.engine.flow import TRANSITIONS, document
from bot.engine.steps import HANDLERS


def test_the_diagram_in_docs_is_generated_from_the_table() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "conversation.md"
    assert doc.read_text() == document()


def test_every_step_kind_appears_in_the_table() -> None:
    states = {s for s, _, _ in TRANSITIONS} | {t for _, _, t in TRANSITIONS}
    assert set(HANDLERS) <= states
