"""HTTP plumbing shared by the REST adapters: retries of idempotent reads, single-flight tokens,
and a small TTL cache for catalog reads.

Why here and not in each adapter: the rules are the same for every platform (DESIGN.md): reads
are retried with backoff, a booking is never retried blindly, tokens are renewed once for all
concurrent callers, catalogs are cached, availability is not.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from providers.base import ProviderUnavailable

T = TypeVar("T")

#: Status codes worth retrying for an idempotent request.
RETRYABLE_STATUS = frozenset({502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    first_delay: float = 0.2
    factor: float = 2.0

    def delays(self) -> list[float]:
        return [self.first_delay * self.factor**i for i in range(self.attempts - 1)]


NO_RETRY = RetryPolicy(attempts=1)


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    idempotent: bool,
    retry: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    **kwargs: Any,
) -> httpx.Response:
    """Send a request; retry it with backoff only when ``idempotent``.

    Network errors, timeouts and 502/503/504 answers become :class:`ProviderUnavailable` once the
    attempts are spent. Other statuses are returned for the adapter to map. The exception text
    never includes the URL's query string or headers, which may carry credentials.
    """
    policy = retry if idempotent else NO_RETRY
    delays = policy.delays()
    for attempt in range(policy.attempts):
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            failure = "the platform did not answer in time"
        except httpx.TransportError:
            failure = "the platform could not be reached"
        else:
            if response.status_code not in RETRYABLE_STATUS and response.status_code < 500:
                return response
            if response.status_code not in RETRYABLE_STATUS:
                # A plain 500 is not retried: it usually means the request itself upsets the
                # platform, and repeating it only delays the user's error message.
                raise ProviderUnavailable(f"the platform failed ({response.status_code})")
            failure = f"the platform is unavailable ({response.status_code})"
        if attempt < len(delays):
            await sleep(delays[attempt])
    raise ProviderUnavailable(failure)


async def settle(*reads: Awaitable[Any]) -> list[Any]:
    """Run independent reads concurrently and wait for all of them; then raise the first
    failure, if any. Unlike a bare ``asyncio.gather``, no request is left running in the
    background after an error (it would still hit the platform and hold a connection)."""
    results = await asyncio.gather(*reads, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


class SingleFlightToken:
    """An access token shared by all concurrent callers, renewed once when it is about to expire.

    ``fetch`` returns ``(token, lifetime_seconds)``. The token lives in this object only.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[tuple[str, float]]],
        *,
        renew_before: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._renew_before = renew_before
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.renewals = 0

    def __repr__(self) -> str:  # never show the token itself
        return f"<SingleFlightToken renewals={self.renewals}>"

    def _fresh(self) -> bool:
        margin = self._renew_before
        return self._token is not None and self._clock() < self._expires_at - margin

    async def get(self) -> str:
        if self._fresh():
            assert self._token is not None
            return self._token
        async with self._lock:
            if not self._fresh():  # another caller may have renewed while we waited
                token, lifetime = await self._fetch()
                self._token = token
                self._expires_at = self._clock() + float(lifetime)
                self.renewals += 1
            assert self._token is not None
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (after a 401). A token already replaced by a newer one is kept."""
        if self._token == token:
            self._token = None
            self._expires_at = 0.0


class TTLCache(Generic[T]):
    """Memoises async loads for ``ttl`` seconds; concurrent loads of one key share one call."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._values: dict[Hashable, tuple[float, T]] = {}
        self._pending: dict[Hashable, asyncio.Future[T]] = {}

    async def get(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        hit = self._values.get(key)
        if hit is not None and self._clock() < hit[0]:
            return hit[1]
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            value = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        else:
            future.set_result(value)
            self._values[key] = (self._clock() + self.ttl, value)
            return value
        finally:
            del self._pending[key]

    def clear(self) -> None:
        self._values.clear()
