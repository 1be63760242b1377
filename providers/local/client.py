"""The local calendar's binding to the database: sessions, connections and the business's id.

In the adapter template ``client.py`` is how the adapter reaches its platform; the local
calendar's platform is our own database, reached through the application's session factory.
Statements are in :mod:`providers.local.api`, their outcomes become domain errors in
:mod:`providers.local.errors`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from providers.errors import NotFound
from providers.local.catalog import Catalog, load_catalog
from storage.db import autocommit, connected
from storage.models import Business


class LocalClient:
    """One business's calendar in the database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], business_slug: str) -> None:
        self._sessions = sessions
        #: the sessions' engine in autocommit mode where the database has one, for reads
        self._reads: AsyncEngine = autocommit(sessions.kw["bind"])
        self._business_slug = business_slug
        self._business_id: int | None = None

    async def business_id(self) -> int:
        """The business's row id, read once (the slug never moves to another row)."""
        if self._business_id is None:
            async with self._sessions() as session:
                found = await session.scalar(
                    select(Business.id).where(Business.slug == self._business_slug)
                )
            if found is None:
                raise NotFound(f"business {self._business_slug} is not in the database")
            self._business_id = found
        return self._business_id

    async def load_catalog(self) -> Catalog:
        """The business's active services, staff and hours, read from the database."""
        business_id = await self.business_id()
        async with self._sessions() as session:
            return await load_catalog(session, business_id)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads, outside any explicit transaction: on PostgreSQL in
        autocommit mode, one round trip a read instead of BEGIN, the read and ROLLBACK
        (:func:`storage.db.autocommit`)."""
        async with connected(self._reads) as connection:
            yield connection

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncConnection]:
        """A connection in one transaction, committed when the block ends without error.

        Writes only, so on SQLite the transaction takes the write lock at once and waits
        (busy_timeout) instead of failing on a stale read snapshot."""
        async with self._sessions() as session, session.begin():
            yield await session.connection()
