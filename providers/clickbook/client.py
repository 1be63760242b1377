"""HTTP and SOAP access to ClickBook: the JSON sign-in, each user's session, the SOAP calls.

Each signed-in user has one cookie jar (an :class:`httpx.Cookies`, in this object's memory
only): the JSON sign-in stores Domino's session cookie in it, and the SOAP transport of that
user's Private API calls sends from it, so the cookie the login host set is the one the SOAP
host receives (checked at sign-in: a login host whose cookie would not reach the SOAP host is
reported, not discovered at the first booking). Anonymous calls (3P, Public, Admin) use an
empty jar. Requests go out on the shared ``httpx.AsyncClient`` with the Cookie header taken
from the user's jar only, and session cookies are scrubbed from the shared client's own jar
after every answer, so one user's session never rides on another's request.

Reads are retried with backoff on timeouts, network errors and 502/503/504; writes are sent
once. Every failure is mapped by :mod:`.errors`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import zeep
from zeep.helpers import serialize_object
from zeep.proxy import AsyncServiceProxy
from zeep.transports import AsyncTransport

from providers.base import SESSION_ENDED, AuthFailed, ProviderError, ProviderUnavailable
from providers.clickbook import mapping
from providers.clickbook.errors import (
    Context,
    HttpFailure,
    SessionGone,
    call_error,
    login_error,
    retryable,
)
from providers.clickbook.wsdl import ZEEP_SETTINGS, Documents
from providers.http import RetryPolicy

log = logging.getLogger(__name__)


@dataclass
class Session:
    """One signed-in user: their cookie jar and who ClickBook says they are."""

    jar: httpx.Cookies = field(repr=False)
    email: str
    display_name: str
    user_type: str = mapping.USER_CUSTOMER
    details: Mapping[str, str] = field(default_factory=dict)

    @property
    def staff(self) -> bool:
        return self.user_type in mapping.STAFF_TYPES


class SessionTransport(AsyncTransport):  # type: ignore[misc] # zeep is untyped
    """zeep's async transport for one cookie jar, on the shared ``httpx.AsyncClient``.

    Overrides ``post`` (zeep's documented override point), which also keeps the envelopes out of
    zeep's DEBUG log: registration envelopes carry passwords."""

    def __init__(self, owner: ClickbookClient, jar: httpx.Cookies) -> None:
        self.cache = None
        self.logger = log
        self._close_session = False
        self.operation_timeout = None
        self._owner = owner
        self._jar = jar

    async def post(self, address: str, message: bytes, headers: Mapping[str, str]) -> Any:
        response = await self._owner.send(
            "POST", address, self._jar, content=message, headers=dict(headers)
        )
        xml = "xml" in response.headers.get("content-type", "")
        if not xml and mapping.LOGIN_FORM_MARKER in response.text:
            raise SessionGone
        if response.status_code >= 400 and not xml:
            raise HttpFailure(response.status_code)  # a fault comes as XML: zeep reads it
        return response

    async def aclose(self) -> None:
        return None  # the shared client belongs to the application


class ClickbookClient:
    """One business's connection to ClickBook."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        endpoint_url: Callable[[mapping.Endpoint], str],
        login_base_url: str,
        api_key: str,
        documents: Callable[[], Awaitable[Documents]],
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._http = http
        self._endpoint_url = endpoint_url
        self._login_base_url = login_base_url
        self._api_key = api_key
        self._documents = documents
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._anonymous = httpx.Cookies()
        self._sessions: dict[str, Session] = {}
        #: how many requests this client sent (benchmarks count round trips with it)
        self.requests = 0

    def __repr__(self) -> str:  # never the key, never a session
        return f"<ClickbookClient sessions={len(self._sessions)}>"

    # -- HTTP -----------------------------------------------------------------------------------
    async def send(
        self,
        method: str,
        url: str,
        jar: httpx.Cookies,
        *,
        auth: httpx.Auth | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request with exactly ``jar``'s cookies; cookies it sets go back to ``jar``."""
        request = self._http.build_request(method, url, **kwargs)
        # The shared client may have merged its own cookies in: only this user's may travel.
        request.headers.pop("Cookie", None)
        jar.set_cookie_header(request)
        self.requests += 1
        try:
            response = await self._http.send(request, auth=auth or httpx.USE_CLIENT_DEFAULT)
        finally:
            self._scrub_shared_jar()
        jar.extract_cookies(response)
        return response

    def _scrub_shared_jar(self) -> None:
        shared = self._http.cookies.jar
        for cookie in list(shared):
            if cookie.name in mapping.SESSION_COOKIES:
                shared.clear(cookie.domain, cookie.path, cookie.name)

    # -- sessions -------------------------------------------------------------------------------
    def session(self, user_key: str) -> Session | None:
        return self._sessions.get(user_key)

    def forget(self, user_key: str) -> None:
        self._sessions.pop(user_key, None)

    async def sign_in(self, user_key: str, email: str, password: str) -> Session:
        """The JSON sign-in; keeps the user's session. :class:`AuthFailed` when refused."""
        jar = httpx.Cookies()
        url = f"{self._login_base_url}{mapping.LOGIN_PATH}?Open&cacheHack={secrets.token_hex(8)}"
        try:
            response = await self.send(
                "GET",
                url,
                jar,
                auth=httpx.BasicAuth(email, password),
                headers={"Accept": "application/json"},
            )
        except httpx.TimeoutException:
            raise ProviderUnavailable("the ClickBook sign-in did not answer in time") from None
        except httpx.TransportError:
            raise ProviderUnavailable("the ClickBook sign-in could not be reached") from None
        finally:
            del password
        refused = login_error(response.status_code, response.text)
        if refused is not None:
            raise refused
        model = _json_model(response)
        user = model.get("user")
        if not isinstance(user, str) or not user:
            # KNOWN: a sign-in succeeded only when model.user is a string.
            raise AuthFailed(
                "The email or password was not accepted.",
                reason="not_signed_in",
                detail="the sign-in answered without model.user",
            )
        self._check_cookie_reaches_soap_host(jar)
        session = Session(jar=jar, email=email, display_name=str(model.get("usercn") or ""))
        self._sessions[user_key] = session
        return session

    def _check_cookie_reaches_soap_host(self, jar: httpx.Cookies) -> None:
        probe = httpx.Request("POST", self._endpoint_url("ClickBookPrivate"))
        jar.set_cookie_header(probe)
        sent = probe.headers.get("Cookie", "")
        if not any(f"{name}=" in sent for name in mapping.SESSION_COOKIES):
            raise ProviderUnavailable(
                "the ClickBook sign-in set no session cookie that reaches the SOAP host "
                f"{httpx.URL(self._endpoint_url('ClickBookPrivate')).host}: check "
                "login_base_url and soap_base_url"
            )

    async def sign_out(self, user_key: str) -> None:
        """Log out on ClickBook (best effort) and forget the session."""
        session = self._sessions.pop(user_key, None)
        if session is None:
            return
        try:
            await self.send(
                "GET",
                f"{self._login_base_url}{mapping.LOGOUT_PATH}?Logout&RedirectTo=",
                session.jar,
            )
        except httpx.HTTPError:
            log.info("ClickBook logout did not answer; the session is forgotten anyway")

    # -- SOAP -----------------------------------------------------------------------------------
    async def call(
        self,
        operation: mapping.Operation,
        *,
        context: Context = "read",
        user_key: str | None = None,
        idempotent: bool = True,
        **parameters: Any,
    ) -> Any:
        """Call ``operation`` (as ``user_key``'s session for the Private API) and return its
        answer as plain dicts and lists. The API key is added here."""
        jar = self._anonymous
        if user_key is not None:
            session = self._sessions.get(user_key)
            if session is None:
                # Sessions live in memory only (a restart forgets them): for the user, it ended.
                raise AuthFailed(SESSION_ENDED, detail="no ClickBook session for this user")
            jar = session.jar
        proxy = await self._proxy(operation, jar)
        delays = self._retry.delays() if idempotent else []
        for attempt in range(len(delays) + 1):
            try:
                answer = await proxy[operation.name](APIKEY=self._api_key, **parameters)
            except ProviderError:
                raise
            except Exception as error:
                if attempt < len(delays) and retryable(error):
                    await self._sleep(delays[attempt])
                    continue
                mapped = call_error(error, context)
                if isinstance(mapped, AuthFailed) and user_key is not None:
                    self.forget(user_key)
                raise mapped from None
            return serialize_object(answer, dict)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _proxy(self, operation: mapping.Operation, jar: httpx.Cookies) -> Any:
        documents = await self._documents()
        if operation.name not in documents.operations(operation.endpoint):
            raise ProviderUnavailable(
                f"the {operation.endpoint} WSDL has no operation {operation.name} "
                "(see bookbot check-provider)"
            )
        document = documents.by_endpoint[operation.endpoint]
        client = zeep.AsyncClient(
            document, transport=SessionTransport(self, jar), settings=ZEEP_SETTINGS
        )
        binding = document.bindings[documents.binding_name(operation.endpoint)]
        return AsyncServiceProxy(client, binding, address=self._endpoint_url(operation.endpoint))


def _json_model(response: httpx.Response) -> Mapping[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise ProviderUnavailable("the ClickBook sign-in answered something not JSON") from None
    model = body.get("model") if isinstance(body, Mapping) else None
    return model if isinstance(model, Mapping) else {}
