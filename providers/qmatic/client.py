"""HTTP side of the Qmatic adapter: the OAuth2 token and the headers of every call.

The client secret and the access token live in this object only: they are never logged, never
put in an exception text and never shown by ``repr``. Answers become domain errors in
:mod:`providers.qmatic.errors`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from providers.base import ProviderUnavailable
from providers.http import AuthenticatedClient, BearerToken, RetryPolicy, SingleFlightToken
from providers.qmatic import api
from providers.qmatic.errors import Operation, raise_for

log = logging.getLogger(__name__)

DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True)
class Answer:
    """A successful answer: its decoded JSON (``None`` when empty) and its ``Location``."""

    body: Any
    location: str | None


class QmaticClient:
    """Sends authenticated requests to one Qmatic tenant and decodes the answers."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        account: str,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        clock: Callable[[], float],
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._root = base_url.rstrip("/")
        self._account = account
        self._tenant_id = tenant_id
        self._client_id = client_id
        self._client_secret = client_secret
        # Renew a minute before Qmatic's 60-minute lifetime ends, once for all callers.
        self.token = SingleFlightToken(self._fetch_token, renew_before=60.0, clock=clock)
        self._api = AuthenticatedClient(http, BearerToken(self.token), retry=retry, sleep=sleep)

    def __repr__(self) -> str:  # the secret and token must never show
        return f"<QmaticClient tenant={self._tenant_id!r}>"

    async def _fetch_token(self) -> tuple[str, float]:
        response = await self._api.unauthenticated(
            "POST",
            self._root + api.TOKEN_PATH,
            idempotent=True,  # asking for a token twice is harmless
            auth=httpx.BasicAuth(self._client_id, self._client_secret),
            headers={"X-ACCOUNT": self._account},
            data={"grant_type": "client_credentials", "scope": " ".join(api.SCOPES)},
        )
        body = self._decode(response)
        if response.status_code != 200:
            raise_for(response.status_code, body, Operation.TOKEN, response.headers)
        if not isinstance(body, Mapping) or not isinstance(body.get("access_token"), str):
            raise ProviderUnavailable("the booking platform sent no access token")
        lifetime = body.get("expires_in", api.TOKEN_LIFETIME_SECONDS)
        log.debug("qmatic: new access token for tenant %s", self._tenant_id)
        return body["access_token"], float(lifetime)

    async def send(
        self,
        method: str,
        path: str,
        operation: Operation,
        *,
        language: str,
        idempotent: bool,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> Answer:
        """Send one API call; return its decoded JSON (``None`` for an empty answer) with the
        ``Location`` header (a 201 may carry nothing else).

        A 401 (token revoked or expired early) renews the token and repeats the call once: the
        platform did not process the first attempt, so even a booking is safe to repeat.
        """
        response = await self._api.request(
            method,
            self._root + api.API_PREFIX + path,
            idempotent=idempotent,
            params=params,
            json=json_body,
            headers={"X-TENANT-ID": self._tenant_id, "Accept-Language": language},
        )
        body = self._decode(response)
        if response.is_success:
            return Answer(body, response.headers.get("location"))
        log.debug("qmatic: %s %s answered %s", method, operation.value, response.status_code)
        raise_for(response.status_code, body, operation, response.headers)

    @staticmethod
    def _decode(response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return json.loads(response.content)
        except ValueError:
            if response.is_success:
                raise ProviderUnavailable("the booking platform answered nonsense") from None
            return None  # an error page in HTML: the status alone decides
