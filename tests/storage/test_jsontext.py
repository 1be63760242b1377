"""storage/jsontext.py: the JSON text of our JSON columns takes what ``json.dumps`` takes and
refuses what it refuses, and the engine stores exactly that text."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage import conversations, jsontext
from storage.conversations import ConversationRecord
from storage.db import create_engine
from storage.migrate import upgrade_async

NOW = datetime(2027, 3, 1, 7, 30, tzinfo=UTC)
STATE = {
    "b": {"i": 3, "ch": {"service": {"ids": ["1"], "labels": ["Coupe 💇‍♀️"]}}},
    "cust": {"first_name": "عائشة", "last_name": 'Zoë "the" O\'Brien\n', "phone": None},
    "menu": {"v": 12, "a": ["b:s:0", "b:back"]},
    "flags": [True, False, 0, -1, 2**53, 1.5],
}


def test_values_round_trip_and_old_rows_still_load() -> None:
    text = jsontext.dumps(STATE)
    assert jsontext.loads(text) == STATE
    assert json.loads(text) == STATE  # any JSON reader reads what we write
    # rows written before (json.dumps: spaced, \u-escaped) load the same
    assert jsontext.loads(json.dumps(STATE)) == STATE


def test_it_refuses_what_json_dumps_refuses_and_keys_become_strings() -> None:
    @dataclass
    class Point:
        x: int

    for value in ({"at": NOW}, {"p": Point(1)}, {"s": {1, 2}}, {"o": object()}):
        with pytest.raises(TypeError):
            json.dumps(value)
        with pytest.raises(TypeError):
            jsontext.dumps(value)
    assert jsontext.loads(jsontext.dumps({1: "a"})) == json.loads(json.dumps({1: "a"}))


def test_bad_text_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        jsontext.loads("{not json")


async def test_the_engine_stores_this_text_and_reads_it_back(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'json.db'}"
    await upgrade_async(url)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            record = ConversationRecord(chat_id=1, user_id=1, data=dict(STATE))
            assert await conversations.save(connection, record, expires_at=NOW, now=NOW)
        with sqlite3.connect(tmp_path / "json.db") as raw:
            texts = [t for (t,) in raw.execute("SELECT data FROM conversations")]
        assert texts == [jsontext.dumps(STATE)]
        async with engine.connect() as connection:
            back = await conversations.load(connection, 1, 1)
        assert back.data == STATE
    finally:
        await engine.dispose()
