"""The group's catalog on ClicRDV: its settings, categories (interventionsets), services
(interventions) and calendars, each read once per catalog TTL.

A module of its own because the group's settings decide the flow (see :mod:`.adapter`) and
every step before the date reads from these cached lists; availability is never cached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from providers.base import ProviderUnavailable, Selection
from providers.clicrdv import api
from providers.clicrdv.client import ClicrdvClient
from providers.http import TTLCache

Record = Mapping[str, Any]


class GroupCatalog:
    """Cached catalog reads of one group."""

    def __init__(self, client: ClicrdvClient, group_id: str, ttl: float) -> None:
        self._client = client
        self._group_id = group_id
        self._cache: TTLCache[Any] = TTLCache(ttl)

    async def group(self) -> api.GroupSettings:
        """The group's settings."""

        async def load() -> api.GroupSettings:
            body = await self._client.get(api.group_path(self._group_id))
            return api.GroupSettings.from_json(api.mapping(body))

        result: api.GroupSettings = await self._cache.get("group", load)
        return result

    async def _records(self, key: object, path: str, params: Sequence[tuple[str, str]]) -> Any:
        async def load() -> list[Record]:
            body = await self._client.get(path, [*api.ALL_RESULTS.items(), *params])
            try:
                return api.records(body)
            except ValueError:
                raise ProviderUnavailable("the platform answered an unexpected shape") from None

        return await self._cache.get(key, load)

    async def interventionsets(self) -> list[Record]:
        result: list[Record] = await self._records(
            "sets", api.interventionsets_path(self._group_id), ()
        )
        return result

    async def interventions(self) -> list[Record]:
        # One read of every service, filtered by category by the caller: the lengths and prices
        # are needed later anyway (slot ends, booking summary), so this saves a request per
        # category.
        result: list[Record] = await self._records(
            "interventions", api.interventions_path(self._group_id), ()
        )
        return result

    async def interventions_of(self, calendar_id: str) -> list[Record]:
        """The services one calendar offers (``interventions?calendar_ids[]=``, documented)."""
        result: list[Record] = await self._records(
            ("interventions", calendar_id),
            api.interventions_path(self._group_id),
            [("calendar_ids[]", calendar_id)],
        )
        return result

    async def calendars(self, intervention_ids: tuple[str, ...]) -> list[Record]:
        params = [("intervention_ids[]", i) for i in intervention_ids]
        result: list[Record] = await self._records(
            ("calendars", intervention_ids), api.calendars_path(self._group_id), params
        )
        return result

    async def calendars_for(self, selection: Selection) -> list[Record]:
        """The calendar list the calendar step shows in this group's flow order."""
        group = await self.group()
        services = selection.many("service") if group.service_first else ()
        return await self.calendars(tuple(services))
