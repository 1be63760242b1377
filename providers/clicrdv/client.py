"""HTTP access to ClicRDV: the API key, the end users' sessions, retries and error mapping.

Every call carries ``apikey`` as a query parameter (passed through ``params`` so it is never
formatted into a message of ours, and scrubbed from httpx's own log lines by
:mod:`providers.clicrdv.redact`). End users sign in with the session login; the ``_session_id``
cookie is kept in this object's memory, keyed by the conversation's ``user_key``, and sent
explicitly on that user's calls only. It is removed from the shared ``httpx.AsyncClient`` cookie
jar at once, so one user's session never rides along on another user's request.

ClicRDV never answers 401 for a protected resource: a request whose session the platform no
longer knows is served as the public profile (empty lists, 404 for ids), so a lost session cannot
be told from the status of the call itself. :meth:`ClicrdvClient.verify_session` reads the
signed-in account back instead; the adapter calls it before every write and beside every read
of the account's records.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import httpx

from providers.base import SESSION_ENDED, AuthFailed, ProviderUnavailable
from providers.clicrdv import api, guesses, redact
from providers.clicrdv.errors import Context, map_error
from providers.http import AuthenticatedClient, QueryKey, RetryPolicy

Params = Sequence[tuple[str, str]]


class ClicrdvClient:
    """One business's connection to ClicRDV (one group)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: str,
        group_id: str,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        redact.install()
        self._http = http
        self._base_url = base_url.rstrip("/")
        self.group_id = group_id
        self._api = AuthenticatedClient(
            http, QueryKey(api.APIKEY_PARAM, api_key), retry=retry or RetryPolicy(), sleep=sleep
        )
        #: user_key -> (session cookie, the account id the login answered)
        self._sessions: dict[str, tuple[str, str]] = {}

    def __repr__(self) -> str:  # never show the key or the sessions
        return f"<ClicrdvClient group={self.group_id} sessions={len(self._sessions)}>"

    async def aclose(self) -> None:
        """Close the HTTP client (only when the adapter made it itself)."""
        await self._http.aclose()

    # -- sessions -------------------------------------------------------------------------------
    def has_session(self, user_key: str) -> bool:
        return user_key in self._sessions

    def forget_session(self, user_key: str) -> None:
        self._sessions.pop(user_key, None)

    async def login(self, user_key: str, email: str, password: str) -> Mapping[str, Any]:
        """Session login; keeps the cookie for ``user_key``. :class:`AuthFailed` when refused."""
        params = [*api.login_params(email, password).items()]
        del password  # only its hash travels, and only in this request
        response = await self._send("POST", api.LOGIN_PATH, params, idempotent=False)
        session = response.cookies.get(api.SESSION_COOKIE)
        self._forget_shared_cookie()
        body = self._json_or_none(response)
        refused = guesses.login_error(response.status_code, body)
        if refused is not None or response.status_code >= 400:
            raise AuthFailed(refused or "wrong email or password")
        if not session:
            raise ProviderUnavailable("the platform did not open a session")
        account = body.get("account") if isinstance(body, Mapping) else None
        account = account if isinstance(account, Mapping) else {}
        self._sessions[user_key] = (session, str(account.get("id") or ""))
        return account

    async def verify_session(self, user_key: str) -> None:
        """Check that the platform still knows ``user_key``'s session, from what it answers.

        The account the login answered is read back with the session (a guess about the path,
        see :func:`~providers.clicrdv.guesses.account_path`); anything but that account (a 404,
        an empty or another account, which is how ClicRDV serves a request without a session)
        means the session ended: it is forgotten and :class:`AuthFailed` asks the user to sign
        in again. Network failures stay :class:`ProviderUnavailable` (the session may be fine).
        A login that named no account id leaves nothing to check against: no request is made.
        """
        cookie, account_id = self._session(user_key)
        if not account_id:
            # The login named no account, so there is nothing to compare an answer with; the
            # write goes ahead as before rather than refusing every booking of this user.
            return
        response = await self._send(
            "GET",
            guesses.account_path(account_id),
            (),
            idempotent=True,
            headers={"Cookie": f"{api.SESSION_COOKIE}={cookie}"},
        )
        body = self._json_or_none(response)
        if response.status_code >= 500 or (
            response.is_success and response.content and body is None
        ):
            raise ProviderUnavailable(f"the platform failed ({response.status_code})")
        answered = guesses.account_id(body)
        if response.status_code >= 400 or answered != account_id:
            self.forget_session(user_key)
            raise AuthFailed(
                SESSION_ENDED,
                detail=f"the platform no longer knows the session ({response.status_code})",
            )

    def _session(self, user_key: str) -> tuple[str, str]:
        found = self._sessions.get(user_key)
        if found is None:
            # Sessions live in memory only (a restart forgets them): for the user, it ended.
            raise AuthFailed(SESSION_ENDED, detail="no ClicRDV session for this user")
        return found

    def _forget_shared_cookie(self) -> None:
        jar = self._http.cookies.jar
        for cookie in list(jar):
            if cookie.name == api.SESSION_COOKIE:
                jar.clear(cookie.domain, cookie.path, cookie.name)

    # -- requests -------------------------------------------------------------------------------
    async def get(
        self,
        path: str,
        params: Params = (),
        *,
        context: Context = "read",
        user_key: str | None = None,
    ) -> Any:
        """An idempotent read (retried with backoff on 502/503/504, timeouts, network errors)."""
        return await self._call("GET", path, params, None, context, user_key, idempotent=True)

    async def post(
        self,
        path: str,
        payload: Mapping[str, Any],
        *,
        context: Context,
        user_key: str | None = None,
    ) -> Any:
        """A write; never retried (a lost answer must not become two appointments)."""
        return await self._call("POST", path, (), payload, context, user_key, idempotent=False)

    async def delete(self, path: str, *, context: Context, user_key: str | None = None) -> Any:
        # DELETE is idempotent in HTTP terms, but a retried cancel that succeeded the first time
        # would answer 404 and turn a success into NotFound, so it is not retried either.
        return await self._call("DELETE", path, (), None, context, user_key, idempotent=False)

    async def _call(
        self,
        method: str,
        path: str,
        params: Params,
        payload: Mapping[str, Any] | None,
        context: Context,
        user_key: str | None,
        *,
        idempotent: bool,
    ) -> Any:
        headers: dict[str, str] = {}
        if user_key is not None:
            cookie, _ = self._session(user_key)
            headers["Cookie"] = f"{api.SESSION_COOKIE}={cookie}"
        response = await self._send(
            method, path, params, idempotent=idempotent, json_body=payload, headers=headers
        )
        if response.status_code >= 400:
            # Kept although ClicRDV documents no 401: a 401/403 still means the session is gone.
            if response.status_code in (401, 403) and user_key is not None:
                self.forget_session(user_key)
            raise map_error(
                response.status_code, self._json_or_none(response), response.text, context
            )
        if response.status_code == 204 or not response.content:
            return None
        body = self._json_or_none(response)
        if body is None:
            if context == "booking":
                # A 2xx we cannot read: the appointment may well exist, so never say "failed".
                raise ProviderUnavailable(
                    "the platform's answer could not be read; the appointment may have been made"
                )
            raise ProviderUnavailable("the platform answered something that is not JSON")
        return body

    async def _send(
        self,
        method: str,
        path: str,
        params: Params,
        *,
        idempotent: bool,
        json_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        kwargs: dict[str, Any] = {} if json_body is None else {"json": json_body}
        return await self._api.request(
            method,
            self._base_url + path,
            idempotent=idempotent,
            params=params,
            headers={"Accept": "application/json", **(headers or {})},
            **kwargs,
        )

    @staticmethod
    def _json_or_none(response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return json.loads(response.content)
        except ValueError:
            return None
