"""The transition table is what runs: steps move only through ``flow.follow`` and a row of the
table, every row is carried out somewhere, and the diagram in the docs is generated from it."""

from __future__ import annotations

import re
from pathlib import Path

import bot.engine.flow as flow
from bot.engine.flow import CARRIED_OUT_ELSEWHERE, TRANSITIONS, Transition, document
from bot.engine.steps import HANDLERS
from bot.services import Services
from providers.base import NotFound
from tests.bot.harness import running_bot
from tests.bot.test_local_booking import book_haircut

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "bot" / "engine"
#: The moves a row's target stands for; only flow.follow (and the navigation helpers
#: themselves, in steps/base.py) may make them.
PRIMITIVES = re.compile(r"\b(?:advance|go_back|go_to|abandon)\(")


def _engine_sources() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text() for p in sorted(ENGINE.rglob("*.py"))}


def test_the_diagram_in_docs_is_generated_from_the_table() -> None:
    doc = ROOT / "docs" / "conversation.md"
    assert doc.read_text() == document()


def test_every_step_kind_appears_in_the_table() -> None:
    states = {s for s, _, _ in TRANSITIONS} | {t for _, _, t in TRANSITIONS}
    assert set(HANDLERS) <= states


def test_every_row_is_followed_by_the_engine_or_says_where_it_is_carried_out() -> None:
    names = {
        row: name
        for name, row in vars(flow).items()
        if isinstance(row, Transition) and name.isupper()
    }
    assert set(names) == set(TRANSITIONS), "every row has a name, and every named row is listed"
    followed = {
        name
        for source in _engine_sources().values()
        for name in re.findall(r"\bfollow\(turn, ([A-Z_]+)\)", source)
    }
    assert followed <= set(names.values())
    for row, name in names.items():
        assert (name in followed) != (row in CARRIED_OUT_ELSEWHERE), name


def test_steps_move_only_through_the_table() -> None:
    for path, source in _engine_sources().items():
        calls = [m.group(0) for m in PRIMITIVES.finditer(source)]
        definitions = len(re.findall(r"def (?:advance|go_back|go_to|abandon)\(", source))
        if path.endswith(("engine/flow.py", "steps/base.py")):
            continue  # follow() and the helpers it is made of
        if path.endswith("engine/booking.py"):
            # a new booking replaces the one in progress (and asking where to book drops it)
            assert len(calls) - definitions == 2, calls
            continue
        assert calls == [], f"{path} moves the conversation outside flow.follow: {calls}"


async def test_a_slot_gone_at_confirm_goes_back_to_the_first_step(services: Services) -> None:
    provider = services.providers["sample-salon"]

    async def gone(*_args: object, **_kwargs: object) -> None:
        raise NotFound("This appointment is no longer available.")

    async with running_bot(services) as chat:
        await book_haircut(chat)
        provider.book_in = gone  # type: ignore[method-assign]
        await chat.press("✅ Confirm")
        assert "This is no longer available." in chat.text
        assert "Which service would you like?" in chat.text
        assert "Haircut · 30 min · €25.00" in chat.labels
