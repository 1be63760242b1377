"""``/health`` (business admins and owners): for each business they administer, whether its
platform answers and how fast (its flow and its first list of options: what a customer's
``/book`` asks first; a platform's adapter may answer from its cache), the outbox's depth and
oldest open item, and the last delivery error (bot token redacted). A feature on the engine."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import func, select

from bot.admin import texts
from bot.admin.guard import roles_for
from bot.admin.rights import administered
from bot.bot_api_request import redact
from bot.engine.features import Feature
from bot.engine.turn import Turn
from providers.base import BookingProvider, ProviderError, Selection
from storage.delivery_models import OPEN_STATUSES, Delivery
from storage.models import Business

if TYPE_CHECKING:
    from bot.engine.engine import Engine

PROBE_TIMEOUT = 10.0


async def probe(provider: BookingProvider) -> float:
    """Seconds the platform took to answer what ``/book`` asks first; raises on failure."""
    started = time.perf_counter()
    steps = await provider.flow(Selection())
    first = next((s for s in steps if s.kind == "choose"), None)
    if first is not None:
        await provider.options(first.key, Selection())
    return time.perf_counter() - started


class Health(Feature):
    commands: ClassVar[tuple[str, ...]] = ("health",)

    async def on_command(self, engine: Engine, turn: Turn, command: str, argument: str) -> None:
        if await roles_for(turn, command, argument) is None:
            return
        async with turn.services.sessions() as session:
            businesses = await administered(session, turn.event.user_id)
        blocks = [await _business(turn, business) for business in businesses]
        turn.show("\n\n".join(blocks) or turn.t(texts.SCHEDULE_NONE))


async def _business(turn: Turn, business: Business) -> str:
    lines = [business.name]
    provider = turn.services.providers.get(business.slug)
    if provider is None:
        lines.append(turn.t(texts.HEALTH_NOT_CONFIGURED))
    else:
        try:
            took = await asyncio.wait_for(probe(provider), PROBE_TIMEOUT)
            lines.append(turn.t(texts.HEALTH_PLATFORM_OK, ms=f"{took * 1000:,.0f}"))
        except (ProviderError, TimeoutError) as failure:
            lines.append(turn.t(texts.HEALTH_PLATFORM_DOWN, error=type(failure).__name__))
    async with turn.services.sessions() as session:
        depth, oldest = (
            await session.execute(
                select(func.count(), func.min(Delivery.due_at)).where(
                    Delivery.business_id == business.id, Delivery.status.in_(OPEN_STATUSES)
                )
            )
        ).one()
        error = await session.scalar(
            select(Delivery.last_error)
            .where(Delivery.business_id == business.id, Delivery.status == "failed")
            .order_by(Delivery.id.desc())
            .limit(1)
        )
    if depth:
        minutes = max(0, int((turn.now - oldest).total_seconds() // 60))
        lines.append(turn.t(texts.HEALTH_OUTBOX, depth=f"{depth:,}", minutes=minutes))
    else:
        lines.append(turn.t(texts.HEALTH_OUTBOX_EMPTY))
    if error:
        lines.append(turn.t(texts.HEALTH_LAST_ERROR, error=redact(error)[:300]))
    return "\n".join(lines)


__all__ = ["Health", "probe"]
