"""The text of our JSON columns (conversation state, booking selections...), written and read
by the SQLAlchemy engine (``json_serializer``, :func:`storage.db.create_engine`).

orjson writes and reads this text several times faster than the standard library (a 1 KB
conversation state: 8 → 1 µs to write, 5 → 2.5 µs to read), and every update reads and writes
its state; that was 5% of the instructions a booking costs (``docs/performance.md``).

It is kept as strict as ``json.dumps`` where that matters here: datetimes and dataclasses are
refused (orjson would silently turn them into text that reads back as a string), and integer
keys become strings as ``json.dumps`` makes them. Two differences remain: orjson refuses
integers beyond 64 bits (Telegram's ids are far below) and accepts a UUID. The text is compact
UTF-8 rather than ``json.dumps``'s spaced ASCII; any JSON reader reads both, so rows written
before still load.
"""

from __future__ import annotations

from typing import Any

import orjson

_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


def dumps(value: Any) -> str:
    """JSON text of ``value``; ``TypeError`` for what ``json.dumps`` would refuse."""
    return orjson.dumps(value, option=_OPTIONS).decode()


def loads(text: str | bytes) -> Any:
    """The value of JSON text; ``ValueError`` (``orjson.JSONDecodeError``) if it is not JSON."""
    return orjson.loads(text)
