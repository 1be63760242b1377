"""HTTP side of the Qmatic adapter: the OAuth2 token, the headers of every call, and the one place
where Qmatic's answers become domain errors.

The client secret and the access token live in this object only: they are never logged, never
put in an exception text and never shown by ``repr``.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NoReturn

import httpx

from providers.base import (
    N_,
    AuthFailed,
    BookingRefused,
    HoldExpired,
    InvalidCustomerData,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    SlotTaken,
    platform_text,
)
from providers.http import RetryPolicy, SingleFlightToken, send
from providers.qmatic import api

log = logging.getLogger(__name__)

DEFAULT_RETRY = RetryPolicy()


class Operation(enum.Enum):
    """What a request was for; the same status means different things for different calls."""

    TOKEN = "token"  # noqa: S105 (an operation name)
    READ = "read"
    RESERVE = "reserve"
    CONFIRM = "confirm"
    RELEASE = "release"
    CANCEL = "cancel"
    UPDATE_CUSTOMER = "update_customer"
    SEARCH = "search"
    RESCHEDULE = "reschedule"


#: What the user sees when Qmatic answers 404 without a text of its own.
_NOT_FOUND_TEXT = {
    Operation.CANCEL: N_("This appointment no longer exists. It may have been cancelled."),
    Operation.UPDATE_CUSTOMER: N_("This appointment no longer exists. It may have been cancelled."),
    Operation.RESCHEDULE: N_("This appointment no longer exists. It may have been cancelled."),
    Operation.READ: N_("This service or branch is no longer available."),
}


def raise_for(status: int, body: Any, operation: Operation) -> NoReturn:
    """Map a Qmatic error answer to a domain error. The one place where this happens.

    Qmatic's own text answers in the ``Accept-Language`` we sent (the user's), so it is passed
    on for the user as it is; our wording for credentials and statuses is diagnostic only."""
    code = api.error_code(body)
    text = platform_text(api.error_message(body))
    if operation is Operation.TOKEN or status == 401:
        raise AuthFailed("the booking platform refused the business's credentials")
    if status == 403:
        raise AuthFailed("the business's API client lacks a permission (scope) for this")
    if operation is Operation.CONFIRM and (
        status in (404, 410) or code == api.ERROR_RESERVATION_EXPIRED
    ):
        raise HoldExpired(text)
    if status == 409 or code == api.ERROR_SLOT_TAKEN:
        if operation is Operation.RESCHEDULE and code == api.ERROR_SERVICE_CHANGE:
            raise BookingRefused("service_cannot_change", text)
        raise SlotTaken(text)
    if status in (404, 410):
        raise NotFound(text or _NOT_FOUND_TEXT.get(operation))
    if status in (400, 422):
        field = api.error_field(body)
        if field is not None and field in api.FIELD_MAP:
            raise InvalidCustomerData(api.FIELD_MAP[field], text)
        if code == api.ERROR_SERVICE_CHANGE:
            raise BookingRefused("service_cannot_change", text)
        raise BookingRefused(code or "refused", text)
    raise ProviderUnavailable(f"the booking platform answered {status}")


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
        self._http = http
        self._root = base_url.rstrip("/")
        self._account = account
        self._tenant_id = tenant_id
        self._client_id = client_id
        self._client_secret = client_secret
        self._retry = retry
        self._sleep = sleep
        # Renew a minute before Qmatic's 60-minute lifetime ends, once for all callers.
        self.token = SingleFlightToken(self._fetch_token, renew_before=60.0, clock=clock)

    def __repr__(self) -> str:  # the secret and token must never show
        return f"<QmaticClient tenant={self._tenant_id!r}>"

    async def _fetch_token(self) -> tuple[str, float]:
        response = await send(
            self._http,
            "POST",
            self._root + api.TOKEN_PATH,
            idempotent=True,  # asking for a token twice is harmless
            retry=self._retry,
            sleep=self._sleep,
            auth=httpx.BasicAuth(self._client_id, self._client_secret),
            headers={"X-ACCOUNT": self._account},
            data={"grant_type": "client_credentials", "scope": " ".join(api.SCOPES)},
        )
        body = self._decode(response)
        if response.status_code != 200:
            raise_for(response.status_code, body, Operation.TOKEN)
        if not isinstance(body, Mapping) or not isinstance(body.get("access_token"), str):
            raise ProviderUnavailable("the booking platform sent no access token")
        lifetime = body.get("expires_in", api.TOKEN_LIFETIME_SECONDS)
        log.debug("qmatic: new access token for tenant %s", self._tenant_id)
        return body["access_token"], float(lifetime)

    async def call(
        self,
        method: str,
        path: str,
        operation: Operation,
        *,
        language: str,
        idempotent: bool,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> Any:
        """Send one API call; return its decoded JSON (``None`` for an empty answer).

        A 401 (token revoked or expired early) renews the token and repeats the call once: the
        platform did not process the first attempt, so even a booking is safe to repeat.
        """
        for attempt in (1, 2):
            token = await self.token.get()
            response = await send(
                self._http,
                method,
                self._root + api.API_PREFIX + path,
                idempotent=idempotent,
                retry=self._retry,
                sleep=self._sleep,
                params=params,
                json=json_body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "X-TENANT-ID": self._tenant_id,
                    "Accept-Language": language,
                },
            )
            if response.status_code == 401 and attempt == 1:
                self.token.invalidate(token)
                continue
            body = self._decode(response)
            if response.is_success:
                return body
            log.debug("qmatic: %s %s answered %s", method, operation.value, response.status_code)
            raise_for(response.status_code, body, operation)
        raise AssertionError("unreachable")  # pragma: no cover

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


def shape_error(exc: Exception) -> ProviderError:
    """A response that parsed but does not have the expected shape."""
    return ProviderUnavailable(f"the booking platform answered an unexpected shape ({exc})")
