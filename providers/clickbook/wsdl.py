"""The four WSDLs: read once per process, kept in zeep's SQLite cache, checked for our operations.

Why a module of its own: zeep loads a WSDL synchronously through its transport, which would
block the event loop on a network read. Here a WSDL given by URL is fetched asynchronously (on
the shared ``httpx.AsyncClient``) into zeep's own :class:`~zeep.cache.SqliteCache` unless the
cache already holds it, and zeep then parses it from the cache: a restart with a warm cache
makes no request at all. A WSDL given as a file is read from disk. Each parsed document is kept
for the process (businesses on the same WSDL share it).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from zeep import Settings
from zeep.cache import SqliteCache
from zeep.transports import AsyncTransport
from zeep.wsdl import Document

from providers.base import ProviderUnavailable
from providers.clickbook import mapping
from providers.clickbook.settings import ClickbookSettings
from providers.http import settle

log = logging.getLogger(__name__)

#: Parsed documents of this process, by location and content digest.
_PARSED: dict[tuple[str, str], Document] = {}
#: zeep's strict mode refuses Domino's habit of omitting optional elements.
ZEEP_SETTINGS = Settings(strict=False, xml_huge_tree=False)


class CacheOnlyTransport(AsyncTransport):  # type: ignore[misc] # zeep is untyped
    """The transport zeep parses a WSDL with: it reads what :func:`load_documents` put in the
    cache (or a file), and never opens a connection of its own."""

    def __init__(self, cache: SqliteCache | None) -> None:  # no httpx clients of its own
        self.cache = cache
        self.logger = log
        self._close_session = False
        self.operation_timeout = None
        self.load_timeout = None

    def load(self, url: str) -> bytes:
        if url.startswith(("http://", "https://")):
            cached = self.cache.get(url) if self.cache is not None else None
            if cached:
                return bytes(cached)
            raise ProviderUnavailable(f"{url} was not fetched before parsing")
        return Path(url).read_bytes()

    async def aclose(self) -> None:
        return None


@dataclass
class Documents:
    """The parsed WSDL of each endpoint, and how many WSDLs had to be fetched."""

    by_endpoint: Mapping[mapping.Endpoint, Document]
    fetched: int

    def operations(self, endpoint: mapping.Endpoint) -> set[str]:
        names: set[str] = set()
        for binding in self.by_endpoint[endpoint].bindings.values():
            names.update(binding.all())
        return names

    def missing(self) -> list[mapping.Operation]:
        """The operations :mod:`.mapping` names that the loaded WSDLs do not publish."""
        return [op for op in mapping.OPERATIONS if op.name not in self.operations(op.endpoint)]

    def binding_name(self, endpoint: mapping.Endpoint) -> Any:
        return next(iter(self.by_endpoint[endpoint].bindings))


def open_cache(settings: ClickbookSettings) -> SqliteCache:
    """zeep's on-disk cache of fetched WSDLs (it holds nothing but WSDL text)."""
    path = Path(settings.wsdl_cache_path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteCache(path=str(path), timeout=int(settings.wsdl_cache_days * 86400))


async def load_documents(
    settings: ClickbookSettings, http: httpx.AsyncClient, cache: SqliteCache
) -> Documents:
    """Every endpoint's WSDL, parsed (from this process's documents, the cache, a file, or
    fetched into the cache). :class:`ProviderUnavailable` naming the endpoint when one cannot be
    read or parsed."""
    # The four are fetched concurrently (a cold start costs one round trip, not four).
    read = await settle(
        *(_read(settings.wsdl_location(e), e, http, cache) for e in mapping.ENDPOINTS)
    )
    found: dict[mapping.Endpoint, Document] = {}
    fetched = 0
    for endpoint, (content, was_fetched) in zip(mapping.ENDPOINTS, read, strict=True):
        location = settings.wsdl_location(endpoint)
        fetched += was_fetched
        key = (location, hashlib.sha256(content).hexdigest())
        document = _PARSED.get(key)
        if document is None:
            try:
                document = Document(location, CacheOnlyTransport(cache), settings=ZEEP_SETTINGS)
            except Exception as error:
                raise ProviderUnavailable(
                    f"the {endpoint} WSDL at {_safe(location)} is not a WSDL zeep can read "
                    f"({type(error).__name__})"
                ) from None
            _PARSED[key] = document
        found[endpoint] = document
    return Documents(found, fetched)


async def _read(
    location: str, endpoint: mapping.Endpoint, http: httpx.AsyncClient, cache: SqliteCache
) -> tuple[bytes, int]:
    try:
        return await _content(location, http, cache)
    except (httpx.HTTPError, OSError) as error:
        raise ProviderUnavailable(
            f"the {endpoint} WSDL could not be read from {_safe(location)} ({type(error).__name__})"
        ) from None


async def _content(location: str, http: httpx.AsyncClient, cache: SqliteCache) -> tuple[bytes, int]:
    if not location.startswith(("http://", "https://")):
        # A start-up read of a small local file, like reading the configuration.
        return Path(location).read_bytes(), 0  # noqa: ASYNC240
    cached = cache.get(location)
    if cached:
        return bytes(cached), 0
    log.info("fetching the ClickBook WSDL %s", _safe(location))
    response = await http.get(location)
    if response.status_code != 200:
        raise httpx.HTTPStatusError(
            f"HTTP {response.status_code}", request=response.request, response=response
        )
    cache.add(location, response.content)
    return response.content, 1


def _safe(location: str) -> str:
    """A location fit for a message: no query string beyond ``?WSDL``, no credentials."""
    head, _, query = location.partition("?")
    return head + ("?WSDL" if query.upper() == "WSDL" else "")


def local_problems(settings: ClickbookSettings) -> list[tuple[str, str]]:
    """What the WSDLs already on this machine (files, zeep's cache) say is missing, for
    ``bookbot check-config``: ``(settings key, message)``. A WSDL neither on disk nor cached is
    fetched at start-up, and checked then (and by ``bookbot check-provider``)."""
    problems: list[tuple[str, str]] = []
    cache_path = Path(settings.wsdl_cache_path).expanduser()
    cache = open_cache(settings) if cache_path.exists() else None
    for endpoint in mapping.ENDPOINTS:
        location = settings.wsdl_location(endpoint)
        key = f"wsdl.{endpoint}"
        if location.startswith(("http://", "https://")):
            if cache is None or not cache.get(location):
                continue
        elif not Path(location).is_file():
            problems.append((key, f"no WSDL file at {location}"))
            continue
        try:
            document = Document(location, CacheOnlyTransport(cache), settings=ZEEP_SETTINGS)
        except Exception as error:  # any parse failure means the same
            problems.append((key, f"not a WSDL zeep can read ({type(error).__name__})"))
            continue
        published = {name for b in document.bindings.values() for name in b.all()}
        for op in mapping.OPERATIONS:
            if op.endpoint == endpoint and op.name not in published:
                problems.append((key, f"the WSDL has no operation {op.name}"))
    return problems
