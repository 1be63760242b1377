"""The typed conversation state reads and writes the stored form rows have always had."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from bot.engine.state import UNANSWERED, BookingState, Choice, ConversationState, Menu

#: States as the engine stored them before the typed model: the JSON of real conversations,
#: captured along the test flows of the providers (local, ClicRDV, Qmatic, a ClickBook
#: registration) and the broadcast
#: composer (its draft, "adm"), chosen so that together they hold every key the engine wrote
#: but two (see below).
STORED: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "fixtures" / "stored_states.json").read_text()
)


def _keys(part: type) -> set[str]:
    return {f.metadata["key"] for f in dataclasses.fields(part)}


@pytest.mark.parametrize("raw", STORED, ids=lambda raw: str(raw.get("b", {}).get("biz")))
def test_a_stored_state_loads_and_is_written_back_unchanged(raw: dict[str, Any]) -> None:
    before = copy.deepcopy(raw)
    state = ConversationState.from_stored(raw)
    assert state.to_stored() == before
    assert raw == before, "decoding leaves the row's value alone"


def test_the_stored_states_hold_every_key_of_the_model() -> None:
    bookings = [raw["b"] for raw in STORED if "b" in raw]
    assert set().union(*STORED) == _keys(ConversationState)
    # "pick" (a multi-pick's ticks), "after" (a refused time, dropped on the same update) and
    # "edit" (a detail being corrected) and "then" (signing in again for a Cancel), newer
    # than the fixtures, are never left in a stored state by the flows captured: see the
    # next test. "far" (the funnel's furthest step) is newer than the fixtures too: a booking
    # stored before it has none, and is not counted in the funnel (bot.engine.funnel).
    assert set().union(*bookings) | {"pick", "after", "edit", "then", "far"} == _keys(BookingState)
    assert set().union(*(c for b in bookings for c in b["ch"].values())) == _keys(Choice)
    assert set().union(*(raw["menu"] for raw in STORED if "menu" in raw)) == _keys(Menu)


def test_the_rarer_keys_and_the_older_slot_form_round_trip() -> None:
    raw = copy.deepcopy(next(raw for raw in STORED if "opts" in raw.get("b", {})))
    offered = [o["id"] for o in raw["b"]["opts"]]
    raw["b"]["pick"] = offered[:2]
    raw["b"]["after"] = "2030-03-07T11:00:00+01:00"
    raw["b"]["slots"] = [{"id": "s1", "start": "2030-03-07T11:00:00+01:00"}]
    raw["b"]["edit"] = "email"
    raw["b"]["then"] = "cc:7"
    raw["b"]["far"] = 2
    state = ConversationState.from_stored(copy.deepcopy(raw))
    assert state.booking is not None
    assert state.booking.furthest == 2
    assert (state.booking.picks, state.booking.not_before) == (offered[:2], raw["b"]["after"])
    assert (state.booking.editing, state.booking.then) == ("email", "cc:7")
    assert state.to_stored() == raw


def test_who_the_booking_is_for_keeps_not_asked_apart_from_nobody_stored() -> None:
    with_fiche_null = next(raw for raw in STORED if raw.get("b", {}).get("fiche", 0) is None)
    state = ConversationState.from_stored(with_fiche_null)
    assert state.booking is not None
    assert (state.booking.fiche, state.booking.fiche_id) == (None, None)
    not_asked = next(raw for raw in STORED if "b" in raw and "fiche" not in raw["b"])
    state = ConversationState.from_stored(not_asked)
    assert state.booking is not None
    assert (state.booking.fiche, state.booking.fiche_id) == (UNANSWERED, None)
    assert "fiche" not in state.to_stored()["b"]


def test_the_parts_are_typed_and_a_new_conversation_stores_nothing() -> None:
    raw = next(raw for raw in STORED if raw.get("b", {}).get("ch") and "menu" in raw)
    state = ConversationState.from_stored(raw)
    assert isinstance(state.menu, Menu) and state.menu.version == raw["menu"]["v"]
    assert state.booking is not None and state.booking.business == raw["b"]["biz"]
    assert all(isinstance(c, Choice) for c in state.booking.choices.values())
    assert ConversationState.from_stored({}).to_stored() == {}
    assert ConversationState.from_stored({"lang": "fr", "later": 1}).to_stored() == {"lang": "fr"}
