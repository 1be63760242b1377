"""Start-up wiring: the database, the configured businesses and their provider adapters.

:class:`Services` is built once per process and handed to the handlers; it holds no
conversation state (that lives in the database) and no secret beyond the adapters' memory.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import AppConfig, BusinessConfig, resolve_secrets
from providers.base import BookingProvider, ProviderDeps, utc_now
from providers.registry import provider_class
from storage import locks
from storage.db import autocommit, create_engine, create_session_factory
from storage.migrate import upgrade_async
from storage.models import Admin, Business

log = logging.getLogger(__name__)

#: One HTTP client for every adapter: connection pooling, and a timeout that keeps a slow
#: platform from holding a user's update for long.
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass
class Services:
    config: AppConfig
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    providers: dict[str, BookingProvider]
    business_ids: dict[str, int]
    clock: Callable[[], datetime] = utc_now
    http: httpx.AsyncClient | None = None
    owns_http: bool = False
    extra: dict[str, object] = field(default_factory=dict)

    def business(self, slug: str) -> BusinessConfig:
        found = self.config.business(slug)
        if found is None:
            raise KeyError(slug)
        return found

    @cached_property
    def business_slugs(self) -> Mapping[int, str]:
        """Business row id -> slug: :attr:`business_ids` the other way round, built once."""
        return {business_id: slug for slug, business_id in self.business_ids.items()}

    @cached_property
    def autocommit_engine(self) -> AsyncEngine:
        """The engine for work of one statement: reads, and a turn's state when the turn has
        no other writes (:func:`storage.db.autocommit`)."""
        return autocommit(self.engine)

    @property
    def idle_timeout(self) -> timedelta:
        return timedelta(minutes=self.config.conversation_idle_minutes)

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()
        if self.http is not None and self.owns_http:
            await self.http.aclose()
        await self.engine.dispose()


async def sync_businesses(
    sessions: async_sessionmaker[AsyncSession], config: AppConfig
) -> dict[str, int]:
    """Upsert the configured businesses and their admins; return slug -> id."""
    async with sessions() as session, session.begin():
        existing = {b.slug: b for b in await session.scalars(select(Business))}
        for wanted in config.businesses:
            row = existing.get(wanted.slug) or Business(slug=wanted.slug)
            row.name = wanted.name
            row.provider_kind = wanted.provider
            row.timezone = wanted.timezone
            session.add(row)
            existing[wanted.slug] = row
        await session.flush()
        ids = {slug: row.id for slug, row in existing.items()}
        configured = {(uid, ids[b.slug]) for b in config.businesses for uid in b.admins} | {
            (uid, None) for uid in config.owners
        }
        admins = {(a.user_id, a.business_id): a for a in await session.scalars(select(Admin))}
        for key, admin in admins.items():
            # roles granted with /grant are the database's; only the configuration's are synced
            if key not in configured and admin.granted_by is None:
                await session.delete(admin)
        for user_id, business_id in configured - set(admins):
            session.add(
                Admin(
                    user_id=user_id,
                    business_id=business_id,
                    role="owner" if business_id is None else "admin",
                )
            )
    return ids


async def build_services(
    config: AppConfig,
    *,
    env: Mapping[str, str] = os.environ,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], datetime] = utc_now,
    migrate: bool = True,
) -> Services:
    """Migrate the database, synchronise businesses and catalogs, and build the adapters.

    The migrations and the writes run under the start-up lock (:mod:`storage.locks`): workers
    started together on one PostgreSQL database take turns instead of inserting the same rows."""
    engine = create_engine(config.database_url)
    sessions = create_session_factory(engine)
    async with locks.held(engine, locks.START_UP):
        if migrate:
            await upgrade_async(config.database_url)
        business_ids = await sync_businesses(sessions, config)
        for business in config.businesses:
            if business.provider == "local":
                await _sync_local_catalog(sessions, business_ids[business.slug], business)
    owns_http = http is None
    if http is None:
        http = httpx.AsyncClient(timeout=HTTP_TIMEOUT)
    providers: dict[str, BookingProvider] = {}
    for business in config.businesses:
        deps = ProviderDeps(
            business_slug=business.slug,
            timezone=business.zone,
            settings=business.settings,
            secrets=resolve_secrets(business, env),
            http=http,
            session_factory=sessions,
            clock=clock,
        )
        provider = providers[business.slug] = provider_class(business.provider)(deps)
        # Problems an adapter finds before its first customer (a WSDL missing an operation)
        # are the operator's to fix: logged now, not met as a traceback by a customer.
        for problem in await provider.start():
            log.warning("%s (%s): %s", business.slug, business.provider, problem)
    return Services(
        config=config,
        engine=engine,
        sessions=sessions,
        providers=providers,
        business_ids=business_ids,
        clock=clock,
        http=http,
        owns_http=owns_http,
    )


async def _sync_local_catalog(
    sessions: async_sessionmaker[AsyncSession], business_id: int, business: BusinessConfig
) -> None:
    from providers.local.catalog import sync_catalog
    from providers.local.closures import sync_configured
    from providers.local.settings import LocalSettings

    settings = LocalSettings.model_validate(business.settings)
    async with sessions() as session, session.begin():
        await sync_catalog(session, business_id, settings)
        await sync_configured(session, business_id, settings, business.zone)
