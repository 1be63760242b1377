"""A lean HTTP/1.1 request backend for python-telegram-bot, used by the dispatcher's own Bot.

Why: the dispatcher sends up to 1,000 messages a second (Telegram's paid-broadcast ceiling).
Through ``HTTPXRequest`` one request costs about 0.9 ms of CPU on our 2-vCPU machines, and the
cost grows with the number of pooled connections (httpcore checks every pooled connection's
socket on each request, and imports ``sniffio`` afresh each time when it is not installed): 2 ms
at 16 connections, 4 ms at 64. That alone caps a process at a few hundred messages a second.

:class:`LeanRequest` implements PTB's :class:`~telegram.request.BaseRequest`, so
:class:`telegram.Bot` and ``BaseRequest.post`` work unchanged and map HTTP status codes to
``RetryAfter``/``Forbidden``/``BadRequest``/... exactly as with ``HTTPXRequest``. Underneath is
a small keep-alive connection pool on :class:`asyncio.Protocol`:

- requests are form-encoded like ``HTTPXRequest`` sends them (``RequestData.json_parameters``);
  file uploads (multipart) are not supported and raise ``NetworkError`` before anything is sent;
- ``https`` URLs use TLS with the system's default verification (``ssl.create_default_context``);
- responses are read by ``Content-Length``, chunked transfer encoding, or until the server
  closes (HTTP/1.0 style); ``Connection: close`` is honoured;
- a connection closed by the server is noticed when it happens (``connection_lost``), so no
  per-request polling of idle sockets is needed;
- connect, read and pool timeouts raise ``TimedOut``; other transport failures ``NetworkError``
  (both ``NetworkError``, as with ``HTTPXRequest``). A connection whose request failed or timed
  out is closed, never reused (a late answer must not be taken for the next request's).

It has no proxy support: :func:`bot.delivery.__main__.build_bot` keeps ``HTTPXRequest`` when a
proxy is configured in the environment.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from urllib.parse import urlencode, urlsplit

from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

#: the largest response head (status line and headers) accepted
MAX_HEAD = 64 * 1024
#: the largest response body accepted (Bot API answers are a few kB)
MAX_BODY = 64 * 1024 * 1024


class _ProtocolError(Exception):
    """The server's answer is not HTTP/1.x as we understand it."""


class _Response:
    """Incremental parser of one HTTP/1.x response."""

    __slots__ = (
        "body",
        "chunk_left",
        "chunked",
        "done",
        "head_done",
        "keep_alive",
        "length",
        "status",
    )

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.head_done = False
        self.done = False
        self.status = 0
        self.keep_alive = True
        self.length: int | None = None
        self.chunked = False
        self.chunk_left = -1  # -1: expecting a chunk-size line; -2: trailers
        self.body = bytearray()

    def feed(self, buffer: bytearray) -> None:
        """Consume what ``buffer`` holds of this response (removing it from the buffer)."""
        if not self.head_done:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD:
                    raise _ProtocolError("response head too large")
                return
            self._parse_head(bytes(buffer[:end]))
            del buffer[: end + 4]
            if 100 <= self.status < 200:
                # an interim answer (e.g. 100 Continue): the real one follows
                self._reset()
                self.feed(buffer)
                return
            self.head_done = True
        if self.chunked:
            self._feed_chunked(buffer)
        elif self.length is not None:
            take = min(self.length - len(self.body), len(buffer))
            self.body += buffer[:take]
            del buffer[:take]
            self.done = len(self.body) >= self.length
        else:  # body delimited by the end of the connection
            self.body += buffer
            buffer.clear()
            if len(self.body) > MAX_BODY:
                raise _ProtocolError("response body too large")

    def _parse_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise _ProtocolError(f"bad status line {lines[0][:100]!r}")
        self.status = int(parts[1])
        connection = b""
        if parts[0] == b"HTTP/1.0":
            self.keep_alive = False
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                raise _ProtocolError(f"bad header line {line[:100]!r}")
            name = name.strip().lower()
            value = value.strip()
            if name == b"content-length":
                if not value.isdigit() or int(value) > MAX_BODY:
                    raise _ProtocolError(f"bad content-length {value[:30]!r}")
                self.length = int(value)
            elif name == b"transfer-encoding":
                self.chunked = value.lower().endswith(b"chunked")
            elif name == b"connection":
                connection = value.lower()
        if connection == b"close":
            self.keep_alive = False
        elif connection == b"keep-alive":
            self.keep_alive = True
        if self.chunked:
            self.length = None
        if self.status in (204, 304):
            self.length = 0
        if self.length is None and not self.chunked:
            self.keep_alive = False  # read until the server closes
        if self.length == 0:
            self.done = True

    def _feed_chunked(self, buffer: bytearray) -> None:
        while not self.done:
            if self.chunk_left == -2:
                end = buffer.find(b"\r\n")
                if end < 0:
                    if len(buffer) > MAX_HEAD:
                        raise _ProtocolError("trailer too long")
                    return
                line_empty = end == 0
                del buffer[: end + 2]
                if line_empty:
                    self.done = True
                continue
            if self.chunk_left == -1:
                end = buffer.find(b"\r\n")
                if end < 0:
                    if len(buffer) > 1024:
                        raise _ProtocolError("chunk size line too long")
                    return
                size = bytes(buffer[:end]).split(b";", 1)[0].strip()
                if not size or size.strip(b"0123456789abcdefABCDEF") or len(size) > 15:
                    raise _ProtocolError(f"bad chunk size {size[:30]!r}")
                self.chunk_left = int(size, 16)
                del buffer[: end + 2]
                if self.chunk_left == 0:
                    self.chunk_left = -2  # trailers follow, up to an empty line
                continue
            # chunk data plus its CRLF
            if len(buffer) < self.chunk_left + 2:
                return
            self.body += buffer[: self.chunk_left]
            if len(self.body) > MAX_BODY:
                raise _ProtocolError("response body too large")
            del buffer[: self.chunk_left + 2]
            self.chunk_left = -1

    def end_of_stream(self) -> bool:
        """The server closed the connection: True if that completes the response."""
        if self.head_done and self.length is None and not self.chunked:
            self.done = True
        return self.done


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self, key: tuple[str, str, int]) -> None:
        #: (scheme, host, port): a connection serves only requests to its own server
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._buffer = bytearray()
        self._response: _Response | None = None
        self._waiter: asyncio.Future[_Response] | None = None

    # -- asyncio.Protocol ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self._response is None or self._waiter is None:
            # Nothing was asked: a server speaking out of turn cannot be trusted with the next
            # request.
            self.close()
            return
        self._buffer += data
        try:
            self._response.feed(self._buffer)
        except _ProtocolError as exc:
            self._fail(NetworkError(f"invalid HTTP response: {exc}"))
            return
        if self._response.done:
            response, self._response = self._response, None
            if self._buffer or not response.keep_alive:
                self.close()
            if not self._waiter.done():
                self._waiter.set_result(response)

    def eof_received(self) -> bool | None:
        return None  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        response = self._response
        if response is not None and self._waiter is not None and not self._waiter.done():
            if response.end_of_stream():
                self._response = None
                self._waiter.set_result(response)
            else:
                reason = f": {exc!r}" if exc else ""
                self._waiter.set_exception(
                    NetworkError(f"connection closed before the response was complete{reason}")
                )

    # -- use ----------------------------------------------------------------------------------
    def request(self, data: bytes) -> asyncio.Future[_Response]:
        """Send ``data`` (a whole request) and return the future of its response."""
        assert self.transport is not None and self._response is None
        self._response = _Response()
        self._waiter = asyncio.get_running_loop().create_future()
        if self.closed:  # closed by the server right after it accepted the connection
            self._waiter.set_exception(NetworkError("connection closed before the request"))
        else:
            self.transport.write(data)
        return self._waiter

    def _fail(self, exc: Exception) -> None:
        waiter = self._waiter
        self.close()
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class LeanRequest(BaseRequest):
    """A :class:`~telegram.request.BaseRequest` on a small asyncio HTTP/1.1 keep-alive pool.

    ``connection_pool_size`` bounds the open connections (one request each at a time); a
    request waits up to ``pool_timeout`` for one. Timeouts are in seconds (``None``: none).
    ``ssl_context`` replaces the default (system CAs, hostname checked) for ``https`` URLs.
    """

    def __init__(
        self,
        connection_pool_size: int = 64,
        read_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._size = connection_pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._idle: collections.deque[_Connection] = collections.deque()
        self._open = 0  # connections open or being opened
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._ssl = ssl_context
        self._closed = False
        #: new connections opened since start (for tests and diagnostics)
        self.connections_opened = 0

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        self._closed = False

    async def shutdown(self) -> None:
        self._closed = True
        while self._idle:
            self._idle.pop().close()
            self._open -= 1
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(NetworkError("request backend shut down"))
        self._waiters.clear()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; return the status code and the body (PTB maps the codes)."""
        if request_data is not None and request_data.contains_files:
            raise NetworkError("LeanRequest does not upload files")
        body = b""
        if request_data is not None and method == "POST":
            body = urlencode(request_data.json_parameters).encode()
        elif request_data is not None:
            url = request_data.parametrized_url(url)
        return await self.send(
            url,
            method,
            body,
            content_type="application/x-www-form-urlencoded",
            read_timeout=self._pick(read_timeout, self._read_timeout),
            connect_timeout=self._pick(connect_timeout, self._connect_timeout),
            pool_timeout=self._pick(pool_timeout, self._pool_timeout),
        )

    @staticmethod
    def _pick(value: ODVInput[float], default: float | None) -> float | None:
        return default if value is DEFAULT_NONE else value  # type: ignore[return-value]

    async def send(
        self,
        url: str,
        method: str,
        body: bytes,
        *,
        content_type: str,
        read_timeout: float | None,
        connect_timeout: float | None,
        pool_timeout: float | None,
    ) -> tuple[int, bytes]:
        """One request with a ready body. Raises ``TimedOut``/``NetworkError`` on failure."""
        if self._closed:
            raise NetworkError("request backend is shut down")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # Not the URL itself: its path holds the bot token, and this message is stored as
            # the delivery's error.
            raise NetworkError(f"unsupported URL scheme {parts.scheme!r} or no host")
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        head = (
            f"{method} {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"User-Agent: {self.USER_AGENT}\r\nAccept: */*\r\n"
        )
        if body or method == "POST":
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        data = head.encode("latin-1") + b"\r\n" + body

        port = parts.port or (443 if parts.scheme == "https" else 80)
        connection = await self._acquire(
            (parts.scheme, parts.hostname, port), connect_timeout, pool_timeout
        )
        reusable = False
        try:
            waiter = connection.request(data)
            timer = None
            if read_timeout is not None:
                timer = asyncio.get_running_loop().call_later(read_timeout, self._time_out, waiter)
            try:
                response = await waiter
            finally:
                if timer is not None:
                    timer.cancel()
            reusable = not connection.closed
            return response.status, bytes(response.body)
        finally:
            self._release(connection, reusable)

    @staticmethod
    def _time_out(waiter: asyncio.Future[_Response]) -> None:
        if not waiter.done():
            waiter.set_exception(TimedOut("Timed out waiting for the Bot API's answer"))

    # -- the pool -----------------------------------------------------------------------------
    async def _acquire(
        self,
        key: tuple[str, str, int],
        connect_timeout: float | None,
        pool_timeout: float | None,
    ) -> _Connection:
        while True:
            while self._idle:
                connection = self._idle.pop()  # most recently used: the warmest
                if not connection.closed and connection.key == key:
                    return connection
                # closed by the server while idle, or to another server (a Bot talks to one;
                # this keeps a shared backend correct): make room for a new one
                connection.close()
                self._open -= 1
            if self._open < self._size:
                self._open += 1
                try:
                    return await self._connect(key, connect_timeout)
                except BaseException:
                    self._open -= 1
                    self._wake()
                    raise
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, pool_timeout)
            except TimeoutError:
                raise TimedOut(
                    "Pool timeout: all connections are busy. The request was not sent."
                ) from None
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # woken but cancelled: pass the turn on
                raise
            finally:
                if not waiter.done():
                    waiter.cancel()
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    async def _connect(
        self, key: tuple[str, str, int], connect_timeout: float | None
    ) -> _Connection:
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        tls: ssl.SSLContext | None = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            tls = self._ssl
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Connection(key),
                    host,
                    port,
                    ssl=tls,
                    server_hostname=host if tls else None,
                ),
                connect_timeout,
            )
        except TimeoutError:
            raise TimedOut(f"Timed out connecting to {host}") from None
        except (OSError, ssl.SSLError) as exc:
            raise NetworkError(f"connecting to {host} failed: {exc!r}") from exc
        # (asyncio sets TCP_NODELAY on TCP transports: small requests leave at once.)
        self.connections_opened += 1
        return protocol

    def _release(self, connection: _Connection, reusable: bool) -> None:
        if reusable and not self._closed:
            self._idle.append(connection)
        else:
            connection.close()
            self._open -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
