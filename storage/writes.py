"""A database write in two forms, SQLAlchemy's and the fast lane's, so that the bot engine can
commit a turn's writes with its conversation state in one transaction on either path.

On a SQLite file the engine runs every write's :attr:`Write.lane` form and the conversation
write on one fast-lane connection (:mod:`storage.fastlane`), in one transaction; on PostgreSQL
it runs the :attr:`Write.session` forms in one SQLAlchemy transaction. Both forms of a write
live next to each other in the storage module that owns the table, run the same SQL and store
the same values (the tests compare rows written by each).

Reads that the engine makes outside a turn's transaction take a :class:`Database` (the bot's
``Services`` is one) and pick the fast lane when there is one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.fastlane import FastLane
from storage.sqlite_inline import Connection

#: A write inside an SQLAlchemy transaction (the caller begins and commits it).
SessionWrite = Callable[[AsyncSession], Awaitable[None]]
#: The same write on a fast-lane connection inside a transaction the caller commits.
LaneWrite = Callable[[Connection], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Write:
    """One write of a turn, in both forms; they must have the same effect."""

    session: SessionWrite
    lane: LaneWrite


class Database(Protocol):
    """Where reads go: the fast lane when there is one, else an SQLAlchemy session."""

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]: ...

    @property
    def fastlane(self) -> FastLane | None: ...


__all__ = ["Database", "LaneWrite", "SessionWrite", "Write"]
