"""The HTTP backend of every Bot python-telegram-bot makes here: :class:`AiohttpRequest`, a
:class:`~telegram.request.BaseRequest` on aiohttp.

One class for the Application's bot (replies, ``getUpdates``) and for the delivery dispatcher.
aiohttp rather than python-telegram-bot's own ``HTTPXRequest`` because it measured five to eight
times cheaper per request at the connection pool a broadcast needs (``docs/performance.md``,
session 6): httpcore checks every pooled connection's socket on each request.

python-telegram-bot's ``BaseRequest.post`` turns the status codes into its errors (429 →
``RetryAfter``, 403 → ``Forbidden``, 400 → ``BadRequest``...). Here, only what happens below
HTTP is mapped: a timeout (connecting, waiting for a pooled connection, reading the answer) is
``TimedOut``, any other failure of aiohttp ``NetworkError``. Error texts never carry the request
URL's token: neither ours, nor python-telegram-bot's, which quote (and log) the body of an answer
that is not JSON, a page that may echo the request path (Express, Tomcat and many proxies do),
so the token is scrubbed from the answer itself.

Proxies come from the environment (``HTTPS_PROXY``, ``HTTP_PROXY``, ``NO_PROXY``), looked up
once per server rather than per request as aiohttp's ``trust_env`` does (two thread-pool hops
per request, netrc included: a third of the CPU at a broadcast's rate).
"""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any
from urllib.parse import unquote, urlencode

import aiohttp
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData
from yarl import URL

from providers.log_scrub import ScrubbingFilter, attach

#: "/bot<token>" (and "/file/bot<token>") in an URL, to keep tokens out of error texts
_TOKEN_IN_URL = re.compile(r"/bot[^/\s'\"]*")
#: the token of a Bot API request URL (``<base>/bot<token>/<method>``)
_URL_TOKEN = re.compile(r"/bot([^/]+)/")
REDACTED = "<token>"
_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
#: parsed URLs kept (a bot calls a few dozen methods of one server)
_URL_CACHE_SIZE = 256


def _seconds(value: Any, default: float | None) -> float | None:
    """A per-call timeout, or the instance's when the call left it to the default."""
    return default if value is BaseRequest.DEFAULT_NONE else value


def token_secret(token: str) -> str:
    """The secret part of a bot token (``<bot id>:<secret>``): what must never be shown. It
    is the same however a page quotes the token (``%3A`` for the colon, an HTML entity...)."""
    return token.rpartition(":")[2]


def redact(text: str, token: str | None = None) -> str:
    """``text`` without the bot token of any Bot API URL in it, nor ``token``'s secret
    anywhere."""
    text = _TOKEN_IN_URL.sub("/bot" + REDACTED, text)
    if token and (secret := token_secret(token)) in text:
        text = text.replace(secret, REDACTED)
    return text


#: python-telegram-bot's loggers whose lines may hold a Bot API URL (the Bot logs its base URL,
#: token included, at DEBUG) or quote an answer
PTB_LOGGERS = (
    "telegram.Bot",
    "telegram.ext.ExtBot",
    "telegram.request.BaseRequest",
    "telegram.ext.Updater",
    "telegram.ext.Application",
)


class TokenFilter(ScrubbingFilter):
    """Rewrites a record (message and traceback) that holds a Bot API URL's token; never drops
    a record. Filters on a logger apply only to its own records, hence :data:`PTB_LOGGERS`."""

    def __init__(self) -> None:
        super().__init__(redact)


_FILTER = TokenFilter()


def install_log_filter() -> None:
    """Attach :class:`TokenFilter` to python-telegram-bot's loggers (idempotent)."""
    attach(_FILTER, PTB_LOGGERS)


def scrub_answer(url: str, body: bytes) -> bytes:
    """The answer to a request to ``url`` without the token of ``url`` in it. The Bot API
    never repeats the token; a page that echoes the request path does."""
    found = _URL_TOKEN.search(url)
    if found is None:
        return body
    secret = token_secret(unquote(found.group(1))).encode()
    if secret and secret in body:
        return body.replace(secret, REDACTED.encode())
    return body


class AiohttpRequest(BaseRequest):
    """Bot API requests through one :class:`aiohttp.ClientSession`.

    ``connection_pool_size`` bounds the open connections; a request waits up to
    ``pool_timeout`` seconds for one (together with connecting). Timeouts are in seconds,
    ``None`` for none; a Bot method's own ``read_timeout=`` etc. override them per call.
    The session is opened by :meth:`initialize` (so inside the running event loop) and closed
    by :meth:`shutdown`; a shut-down request can be initialized again.
    """

    __slots__ = (
        "_connect_timeout",
        "_default_timeout",
        "_pool_size",
        "_pool_timeout",
        "_proxies",
        "_read_timeout",
        "_session",
        "_urls",
    )

    def __init__(
        self,
        connection_pool_size: int = 64,
        *,
        read_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        install_log_filter()
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._default_timeout = self._timeout(read_timeout, connect_timeout, pool_timeout)
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, URL] = {}
        #: (scheme, host) -> the proxy for it, or None
        self._proxies: dict[tuple[str, str | None], str | None] = {}

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (python-telegram-bot adds it to long polling's)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session and its connection pool (again after a :meth:`shutdown`)."""
        if self._session is None or self._session.closed:
            self._proxies.clear()  # the environment may have changed
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
                # the Bot API sets no cookies: nothing to store or filter per request
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=self._default_timeout,
            )

    async def shutdown(self) -> None:
        """Close every connection. Idempotent."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; return the status code and the body. ``write_timeout`` has no
        counterpart in aiohttp (a request is a few kB) and is not applied."""
        if self._session is None or self._session.closed:
            raise NetworkError("AiohttpRequest is not initialized")
        timeout = self._default_timeout
        if not (read_timeout is connect_timeout is pool_timeout is BaseRequest.DEFAULT_NONE):
            timeout = self._timeout(
                _seconds(read_timeout, self._read_timeout),
                _seconds(connect_timeout, self._connect_timeout),
                _seconds(pool_timeout, self._pool_timeout),
            )
        try:
            target = self._url(url)
            body, headers = self._body(request_data)
            async with self._session.request(
                method,
                target,
                data=body,
                headers=headers,
                timeout=timeout,
                proxy=self._proxy(target),
            ) as response:
                return response.status, scrub_answer(url, await response.read())
        except TimeoutError as exc:
            raise TimedOut(f"Timed out: {redact(str(exc)) or type(exc).__name__}") from None
        except (aiohttp.ClientError, ValueError) as exc:
            # (no chained cause: the URL in it holds the token)
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {redact(str(exc))}") from None

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        """python-telegram-bot's parsing, without its ERROR line and traceback for an answer
        that is not JSON (an error page): the :class:`TelegramError` it raises says so once,
        where it is handled."""
        try:
            parsed = json.loads(payload.decode("utf-8", "replace"))
        except ValueError:
            raise TelegramError("Invalid server response") from None
        if not isinstance(parsed, dict):
            raise TelegramError("Invalid server response")
        return parsed

    @staticmethod
    def _timeout(
        read: float | None, connect: float | None, pool: float | None
    ) -> aiohttp.ClientTimeout:
        # total=None: a long poll may take longer than any fixed total
        return aiohttp.ClientTimeout(total=None, connect=pool, sock_connect=connect, sock_read=read)

    def _url(self, url: str) -> URL:
        parsed = self._urls.get(url)
        if parsed is None:
            if len(self._urls) >= _URL_CACHE_SIZE:
                self._urls.clear()
            parsed = self._urls[url] = URL(url)
        return parsed

    def _proxy(self, url: URL) -> str | None:
        """The environment's proxy for ``url``'s server (``NO_PROXY`` honoured)."""
        key = (url.scheme, url.host)
        if key not in self._proxies:
            proxy = urllib.request.getproxies().get(url.scheme)
            if proxy and url.host and urllib.request.proxy_bypass(url.host):
                proxy = None
            self._proxies[key] = proxy
        return self._proxies[key]

    @staticmethod
    def _body(
        request_data: RequestData | None,
    ) -> tuple[aiohttp.FormData | bytes | None, dict[str, str] | None]:
        """Form-encoded parameters (structured values as JSON, as python-telegram-bot sends
        them), or multipart when files are uploaded; and the headers that go with them."""
        if request_data is None:
            return None, None
        if not request_data.contains_files:
            return urlencode(request_data.json_parameters).encode(), _FORM
        form = aiohttp.FormData(request_data.json_parameters)
        for name, (filename, content, mime_type) in request_data.multipart_data.items():
            form.add_field(name, content, filename=filename, content_type=mime_type)
        return form, None
