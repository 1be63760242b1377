"""HTTP and authentication for the bookingtime Module API.

The token chain: client credentials -> refresh token (about 30 min) -> access token bound to one
organization (300 s). Both tokens live in this object only, each in a
:class:`~providers.http.SingleFlightToken` so that concurrent callers share one renewal. They are
renewed shortly before they expire (like the vendor's SDK, 60 s, less for very short
lifetimes); an access token refused with 401 anyway is renewed once and the request sent again
(a 401 means the platform did not process the request, so this is not a blind retry); a refresh
token refused by the token endpoint restarts the chain from the client credentials.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from providers.bookingtime import api, errors
from providers.bookingtime.errors import Operation
from providers.http import AuthenticatedClient, BearerToken, RetryPolicy, SingleFlightToken

#: Reads and token grants: three attempts, 0.2 s then 0.4 s apart (providers.http defaults).
DEFAULT_RETRY = RetryPolicy()

log = logging.getLogger(__name__)


def _usable_lifetime(seconds: float) -> float:
    """The part of a token's lifetime we use: renew a little before the platform expires it."""
    return seconds - min(api.RENEW_BEFORE_SECONDS, seconds / 5)


class BookingtimeClient:
    """Authenticated requests to one organization of the Module API."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        organization_id: str,
        client_id: str,
        auth_url: str,
        api_url: str,
        clock: Callable[[], float],
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._organization_id = organization_id
        self._client_id = client_id
        self._auth_url = auth_url
        self._api_url = api_url.rstrip("/")
        # Margins are applied in _usable_lifetime, so the tokens themselves renew "at expiry".
        self._refresh = SingleFlightToken(self._fetch_refresh_token, renew_before=0.0, clock=clock)
        self._access = SingleFlightToken(self._fetch_access_token, renew_before=0.0, clock=clock)
        self._api = AuthenticatedClient(http, BearerToken(self._access), retry=retry, sleep=sleep)

    def __repr__(self) -> str:  # never show a credential
        return f"<BookingtimeClient organization={self._organization_id}>"

    @property
    def access_renewals(self) -> int:
        return self._access.renewals

    @property
    def refresh_renewals(self) -> int:
        return self._refresh.renewals

    # -- API calls ---------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        locale: str,
        path: str,
        *,
        operation: Operation,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send one request and return the answer's ``content`` (or raise the domain error).

        Only GET requests are retried on timeouts and 502/503/504; every other method is sent
        once (plus once more after a 401, which the platform did not process).
        """
        url = f"{self._api_url}/{locale}/organization/{self._organization_id}/{path}"
        kwargs: dict[str, Any] = {} if body is None else {"json": dict(body)}
        response = await self._api.request(
            method,
            url,
            idempotent=method == "GET",
            headers={"Accept": "application/json"},
            **kwargs,
        )
        log.debug("bookingtime %s %s -> %s", method, path, response.status_code)
        return errors.api_result(response, operation)

    # -- the token chain ---------------------------------------------------------------------

    async def _token_request(self, form: Mapping[str, str]) -> httpx.Response:
        # Token grants have no side effect worth protecting, so they are retried like reads.
        response = await self._api.unauthenticated(
            "POST",
            self._auth_url,
            idempotent=True,
            data=dict(form),
            headers={"Accept": "application/json"},
        )
        log.debug("bookingtime token grant %s -> %s", form["grant_type"], response.status_code)
        return response

    async def _fetch_refresh_token(self) -> tuple[str, float]:
        response = await self._token_request(
            {"grant_type": "client_credentials", "client_id": self._client_id}
        )
        payload = errors.token_payload(response)
        seconds = errors.lifetime(payload, api.DEFAULT_REFRESH_LIFETIME)
        log.debug("bookingtime refresh token obtained, valid %.0f s", seconds)
        return errors.token_string(payload, "refresh_token"), _usable_lifetime(seconds)

    async def _fetch_access_token(self) -> tuple[str, float]:
        for attempt in (1, 2):
            refresh_token = await self._refresh.get()
            response = await self._token_request(
                {
                    "grant_type": "refresh_token",
                    "client_id": self._client_id,
                    "refresh_token": refresh_token,
                    "organization_id": self._organization_id,
                }
            )
            if attempt == 1 and errors.refresh_token_refused(response):
                log.info("bookingtime refused the refresh token; restarting the token chain")
                self._refresh.invalidate(refresh_token)
                continue
            payload = errors.token_payload(response)
            seconds = errors.lifetime(payload, api.DEFAULT_ACCESS_LIFETIME)
            log.debug("bookingtime access token obtained, valid %.0f s", seconds)
            return errors.token_string(payload, "access_token"), _usable_lifetime(seconds)
        raise AssertionError("unreachable")  # pragma: no cover
