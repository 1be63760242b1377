"""HTTP plumbing shared by the REST adapters: retries of idempotent reads, single-flight tokens,
one authenticated client (credentials on every call, one renewal and resend after a 401), and a
small TTL cache for catalog reads.

Why here and not in each adapter: the rules are the same for every platform (DESIGN.md): reads
are retried with backoff, a booking is never retried blindly, tokens are renewed once for all
concurrent callers, catalogs are cached, availability is not.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from providers.base import ProviderUnavailable

T = TypeVar("T")

log = logging.getLogger(__name__)

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


@dataclass(frozen=True, repr=False)
class Credentials:
    """What one request carries to authenticate: headers and query parameters, plus the token
    they were made from (so a refused one can be forgotten). Never shown by ``repr``."""

    headers: Mapping[str, str] = field(default_factory=dict)
    params: Sequence[tuple[str, str]] = ()
    token: str | None = None

    def __repr__(self) -> str:
        return "<Credentials>"


class Auth(ABC):
    """How a platform authenticates the business (the strategy of an
    :class:`AuthenticatedClient`)."""

    @abstractmethod
    async def credentials(self) -> Credentials:
        """The credentials for the next request (fetching or renewing a token if needed)."""

    def refused(self, credentials: Credentials) -> bool:
        """The platform answered 401 to ``credentials``. Whether new ones may fix it (the
        request is then sent once more: a 401 means the platform did not process it, so even a
        booking is safe to repeat). Default: no (a fixed key cannot be renewed)."""
        return False


class BearerToken(Auth):
    """An OAuth2 access token in ``Authorization: Bearer``, shared by all concurrent callers
    and renewed once after a 401."""

    def __init__(self, token: SingleFlightToken) -> None:
        self.token = token

    def __repr__(self) -> str:
        return f"<BearerToken {self.token!r}>"

    async def credentials(self) -> Credentials:
        token = await self.token.get()
        return Credentials(headers={"Authorization": f"Bearer {token}"}, token=token)

    def refused(self, credentials: Credentials) -> bool:
        if credentials.token is not None:
            self.token.invalidate(credentials.token)
        return True


class QueryKey(Auth):
    """An API key sent as a query parameter (first, before the request's own parameters)."""

    def __init__(self, name: str, key: str) -> None:
        self._credentials = Credentials(params=((name, key),))

    def __repr__(self) -> str:
        return "<QueryKey>"

    async def credentials(self) -> Credentials:
        return self._credentials


class AuthenticatedClient:
    """Requests to one platform with the business's credentials, over an injected
    ``httpx.AsyncClient``.

    Every REST adapter sends through one of these: retries and timeouts as :func:`send` (reads
    retried with backoff, writes sent once), credentials from the :class:`Auth` strategy, and
    after a 401 one renewal and one resend when the strategy says new credentials may help.
    Non-2xx answers other than that are returned for the adapter's ``errors`` module to map.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        auth: Auth,
        *,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.http = http
        self.auth = auth
        self.retry = retry
        self.sleep = sleep

    def __repr__(self) -> str:
        return f"<AuthenticatedClient {self.auth!r}>"

    async def request(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool,
        headers: Mapping[str, str] | None = None,
        params: Sequence[tuple[str, str]] | Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one authenticated request (see the class docstring for what is repeated)."""
        own = list(params.items() if isinstance(params, Mapping) else params or ())
        for attempt in (1, 2):
            credentials = await self.auth.credentials()
            query = [*credentials.params, *own]
            response = await self.unauthenticated(
                method,
                url,
                idempotent=idempotent,
                headers={**credentials.headers, **(headers or {})},
                **({"params": query} if query else {}),
                **kwargs,
            )
            if response.status_code == 401 and attempt == 1 and self.auth.refused(credentials):
                log.info("the platform refused the credentials; renewing them once")
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def unauthenticated(
        self, method: str, url: str, *, idempotent: bool, **kwargs: Any
    ) -> httpx.Response:
        """Send a request without the strategy's credentials (a token grant), with the same
        retries and timeouts."""
        return await send(
            self.http,
            method,
            url,
            idempotent=idempotent,
            retry=self.retry,
            sleep=self.sleep,
            **kwargs,
        )


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
