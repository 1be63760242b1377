"""Qmatic's catalog (``GET /services`` and ``GET /services/groups``) as plain values.

``GET /services`` answers one row per service *at a branch* with that pair's resources and
questions; the adapter reads everything it offers before the date step from these two calls,
which are cached (see :class:`providers.qmatic.adapter.QmaticProvider`), and the options of
those steps are made here (:func:`load_catalog` reads and parses the two calls). A module of
its own: the catalog is the one part of Qmatic's answers that is parsed into values kept between
requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from providers.base import ANY_OPTION, NotFound, Option, Question
from providers.qmatic import api, times
from providers.qmatic.client import QmaticClient
from providers.qmatic.errors import Operation, shape_error


@dataclass(frozen=True)
class Resource:
    id: str
    name: str


@dataclass(frozen=True)
class Offering:
    """One service at one branch, as a row of ``GET /services``."""

    service_id: str
    service_name: str
    branch_id: str
    branch_name: str
    branch_address: str
    max_reservations: int
    online_bookable: bool
    resource_required: bool
    resources: tuple[Resource, ...]
    questions: tuple[Question, ...]
    #: the branch's own time zone, when its record names one
    zone: ZoneInfo | None = None


@dataclass(frozen=True)
class Group:
    id: str
    name: str
    service_ids: frozenset[str]


@dataclass(frozen=True)
class Catalog:
    offerings: tuple[Offering, ...]
    groups: tuple[Group, ...]
    descriptions: Mapping[str, str]

    def bookable(self) -> list[Offering]:
        """Rows customers may book (``onlineBookable``), in the platform's order."""
        return [o for o in self.offerings if o.online_bookable]

    def offering(self, service_id: str, branch_id: str) -> Offering | None:
        for o in self.bookable():
            if o.service_id == service_id and o.branch_id == branch_id:
                return o
        return None

    def grouped_service_ids(self) -> frozenset[str]:
        return frozenset().union(*(g.service_ids for g in self.groups))

    def groups_in_use(self) -> list[Group]:
        """The groups holding a bookable service."""
        bookable = {o.service_id for o in self.bookable()}
        return [g for g in self.groups if g.service_ids & bookable]

    # -- the options of the steps before the date ------------------------------------------------

    def group_options(self) -> list[Option]:
        options = [Option(g.id, g.name) for g in self.groups_in_use()]
        grouped = self.grouped_service_ids()
        if any(o.service_id not in grouped for o in self.bookable()):
            # Services outside every group stay reachable through "no preference".
            options.append(Option(ANY_OPTION, "All services"))
        return options

    def service_options(self, group_id: str | None) -> list[Option]:
        """The bookable services of group ``group_id`` (of all groups for ``None``)."""
        wanted = next((g.service_ids for g in self.groups if g.id == group_id), None)
        seen: dict[str, Option] = {}
        for o in self.bookable():
            if o.service_id in seen or (wanted is not None and o.service_id not in wanted):
                continue
            description = self.descriptions.get(o.service_id)
            seen[o.service_id] = Option(o.service_id, o.service_name, description=description)
        return list(seen.values())

    def branch_options(self, service_id: str | None) -> list[Option]:
        """The branches where ``service_id`` is bookable."""
        return [
            Option(o.branch_id, o.branch_name, description=o.branch_address or None)
            for o in self.bookable()
            if o.service_id == service_id
        ]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _questions(row: Mapping[str, Any]) -> tuple[Question, ...]:
    # Qmatic's questions have no id: their position in the row names them, which is stable for
    # one (service, branch) as long as the tenant does not edit its questions mid-booking.
    found: list[Question] = []
    for index, q in enumerate(row.get("screeningQuestions") or ()):
        found.append(
            Question(
                id=f"screening:{index}",
                text=_text(q.get("questionText")),
                kind="screening",
                required=True,
                # yesRequiredAnswer: false means any answer is accepted, not that "no" is needed.
                required_answer=True if q.get("yesRequiredAnswer") else None,
                denied_message=_text(q.get("answerDeniedMessage")) or None,
                clarification=_text(q.get("clarificationText")) or None,
            )
        )
    for index, q in enumerate(row.get("informationQuestions") or ()):
        found.append(
            Question(
                id=f"information:{index}",
                text=_text(q.get("questionText")),
                kind="information",
                required=bool(q.get("required")),
                clarification=_text(q.get("clarificationText")) or None,
                max_length=2048,
            )
        )
    return tuple(found)


def _address(branch: Mapping[str, Any]) -> str:
    address = branch.get("address") or {}
    street = _text(address.get("streetName"))
    town = " ".join(p for p in (_text(address.get("zipCode")), _text(address.get("city"))) if p)
    return ", ".join(p for p in (street, town) if p)


def parse_offerings(body: Any) -> tuple[Offering, ...]:
    if not isinstance(body, list):
        raise ValueError("services answer is not a list")
    rows: list[Offering] = []
    for row in body:
        service = row["service"]
        branch = row["branch"]
        config = service.get("config") or {}
        selection = row.get("resourceSelection") or {}
        resources = tuple(
            Resource(id=str(r["id"]), name=_text(r.get("name")))
            for r in selection.get("availableResources") or ()
        )
        rows.append(
            Offering(
                service_id=str(service["id"]),
                service_name=_text(service.get("name")),
                branch_id=str(branch["id"]),
                branch_name=_text(branch.get("name")),
                branch_address=_address(branch),
                max_reservations=max(1, int(config.get("maxNumberOfReservations") or 1)),
                online_bookable=bool(config.get("onlineBookable")),
                # "required" with no resource listed would leave nothing to pick: ask nothing.
                resource_required=bool(selection.get("required")) and bool(resources),
                resources=resources,
                questions=_questions(row),
                zone=times.branch_zone(branch),
            )
        )
    return tuple(rows)


def parse_groups(body: Any) -> tuple[tuple[Group, ...], dict[str, str]]:
    """Service groups and the services' external descriptions."""
    if body is None:
        return (), {}
    if not isinstance(body, Mapping):
        raise ValueError("service groups answer is not an object")
    descriptions: dict[str, str] = {}
    groups: list[Group] = []

    def note(service: Mapping[str, Any]) -> str:
        sid = str(service["id"])
        if _text(service.get("externalDescription")):
            descriptions[sid] = _text(service.get("externalDescription"))
        return sid

    for service in body.get("services") or ():
        note(service)
    for group in sorted(body.get("serviceGroups") or (), key=lambda g: g.get("index") or 0):
        ids = frozenset(note(s) for s in group.get("services") or ())
        groups.append(Group(id=str(group["id"]), name=_text(group.get("name")), service_ids=ids))
    return tuple(groups), descriptions


async def load_catalog(client: QmaticClient, language: str) -> Catalog:
    """The catalog in ``language``: ``GET /services`` and ``GET /services/groups``, issued
    together (independent reads), parsed; a shape we cannot read is the platform's fault."""

    async def read(path: str) -> Any:
        answer = await client.send("GET", path, Operation.READ, language=language, idempotent=True)
        return answer.body

    async def groups() -> Any:
        try:
            return await read(api.SERVICE_GROUPS)
        except NotFound:  # GUESS (see api.py): 404 when the tenant configured no groups
            return None

    services, group_rows = await asyncio.gather(read(api.SERVICES), groups())
    try:
        offerings = parse_offerings(services)
        parsed_groups, descriptions = parse_groups(group_rows)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise shape_error(exc) from None
    return Catalog(offerings, parsed_groups, descriptions)
