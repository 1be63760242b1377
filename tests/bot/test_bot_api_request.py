"""AiohttpRequest, the HTTP backend of every bot: the Bot API's answers mapped to
python-telegram-bot's errors (429 with its retry_after), a bounded pool, the HTTP framings the
hand-written client got wrong, timeouts, broken servers, TLS with verification, no token in
error texts."""

from __future__ import annotations

import asyncio
import gzip
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from telegram import Bot, MessageEntity
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut

from bot.app import build_application
from bot.bot_api_request import AiohttpRequest
from bot.delivery.__main__ import build_bot
from bot.rate_limiter import TelegramRateLimiter, retry_after_seconds
from bot.services import Services
from tests.fakes.bot_api import TOKEN, FakeBotApi

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One request's head and body (by Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head, await reader.readexactly(length)


@asynccontextmanager
async def raw_server(
    handler: Handler, tls: ssl.SSLContext | None = None
) -> AsyncIterator[tuple[str, list[bytes]]]:
    """A TCP server on 127.0.0.1 running ``handler`` per connection; yields the URL of a
    sendMessage and the list of request heads it saw."""
    heads: list[bytes] = []

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        original = reader.readuntil

        async def readuntil(separator: bytes = b"\n") -> bytes:
            data = await original(separator)
            if separator == b"\r\n\r\n":
                heads.append(data)
            return data

        reader.readuntil = readuntil  # type: ignore[method-assign]
        await run(reader, writer)

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    scheme = "https" if tls else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}/bot{TOKEN}/sendMessage", heads
    finally:
        server.close()
        await server.wait_closed()


def ok(body: bytes = b'{"ok":true,"result":{"message_id":1}}', extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


async def send(request: AiohttpRequest, url: str, **timeouts: float) -> tuple[int, bytes]:
    """One POST of no parameters, as status and body (before python-telegram-bot reads them)."""
    await request.initialize()
    return await request.do_request(
        url,
        "POST",
        read_timeout=timeouts.get("read", 5.0),
        connect_timeout=timeouts.get("connect", 5.0),
        pool_timeout=timeouts.get("pool", 1.0),
    )


def counting(handler: Handler, connections: list[int]) -> Handler:
    """``handler``, counting the connections it serves in ``connections``."""

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        await handler(reader, writer)

    return run


async def answer_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        await read_request(reader)
        writer.write(ok())
        await writer.drain()


# -- against the fake Bot API ------------------------------------------------------------------
async def test_bot_api_answers_map_to_python_telegram_bots_errors() -> None:
    with FakeBotApi(limit=1000, blocked={3}, missing={5}) as api:
        async with Bot(TOKEN, base_url=api.base_url, request=AiohttpRequest(4)) as bot:
            message = await bot.send_message(
                2, "Closed on Monday", entities=[MessageEntity("bold", 0, 6)]
            )
            assert message.message_id > 0 and message.chat.id == 2
            # form-encoded: structured values as JSON, parsed by the fake
            method, params = api.state.calls[-1]
            assert method == "sendMessage"
            assert params["entities"] == [{"type": "bold", "offset": 0, "length": 6}]
            with pytest.raises(Forbidden, match="blocked"):
                await bot.send_message(3, "x")
            with pytest.raises(BadRequest, match=r"(?i)chat not found"):
                await bot.send_message(5, "x")
            api.state.force_429(1, retry_after=7)
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(6, "x")
            assert retry_after_seconds(caught.value) == 7
            edited = await bot.edit_message_text("new", chat_id=2, message_id=1)
            assert not isinstance(edited, bool) and edited.text == "new"


async def test_wrong_token_is_invalid_token() -> None:
    with FakeBotApi(limit=1000) as api:
        with pytest.raises(InvalidToken):
            async with Bot("999:wrong", base_url=api.base_url, request=AiohttpRequest()):
                pass


async def test_pool_bounds_the_connections_and_keeps_them_alive() -> None:
    connections: list[int] = []
    async with raw_server(counting(answer_forever, connections)) as (url, heads):
        request = AiohttpRequest(4, pool_timeout=10)
        answers = await asyncio.gather(*(send(request, url) for _ in range(50)))
        await asyncio.gather(*(send(request, url) for _ in range(10)))
        await request.shutdown()
    assert all(status == 200 for status, _ in answers) and len(heads) == 60
    assert len(connections) <= 4


# -- HTTP framings ----------------------------------------------------------------------------
async def test_chunked_gzip_and_close_delimited_answers_are_read() -> None:
    body = b'{"ok":true,"result":{"a":1}}'
    packed = gzip.compress(body)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        # chunked, in pieces, with a chunk extension and a trailer
        for piece in (
            b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\n{"ok"',
            b'\r\n17\r\n:true,"result":{"a":1}}\r\n',
            b"0\r\nX-Trailer: 1\r\n\r\n",
        ):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.01)
        await read_request(reader)  # same connection: kept alive
        writer.write(ok(packed, b"Content-Encoding: gzip\r\n"))  # decoded, not handed on
        await read_request(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # interim: the real answer follows
        writer.write(ok(b"last", b"Connection: close\r\n"))
        await writer.drain()

    async with raw_server(handler) as (url, heads):
        request = AiohttpRequest()
        assert await send(request, url) == (200, body)
        assert await send(request, url) == (200, body)
        assert await send(request, url) == (200, b"last")
        assert len(heads) == 3
        assert heads[0].startswith(b"POST /bot" + TOKEN.encode() + b"/sendMessage HTTP/1.1")
        await request.shutdown()

    async def http10(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.0 502 Bad Gateway\r\nContent-Type: text/html\r\n\r\n<html>")
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.write(b"bad gateway</html>")
        await writer.drain()

    async with raw_server(http10) as (url, _):
        request = AiohttpRequest()
        # no length: the body runs until the server closes
        assert await send(request, url) == (502, b"<html>bad gateway</html>")
        # a 502 that is not JSON is a NetworkError through python-telegram-bot's mapping
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await request.post(url)
        await request.shutdown()


async def test_a_connection_the_server_closed_is_not_reused() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(ok())  # keep-alive by default, but the server closes it anyway
        await writer.drain()

    connections: list[int] = []
    async with raw_server(counting(handler, connections)) as (url, heads):
        request = AiohttpRequest()
        assert (await send(request, url))[0] == 200
        await asyncio.sleep(0.05)  # the close arrives while the connection is idle
        assert (await send(request, url))[0] == 200
        await request.shutdown()
    assert len(connections) == 2 and len(heads) == 2


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 30\r\n\r\nok",
        b"",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nabc",
    ],
)
async def test_a_broken_answer_is_a_network_error(answer: bytes) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer)
        await writer.drain()

    async with raw_server(handler) as (url, _):
        request = AiohttpRequest()
        with pytest.raises(NetworkError):
            await send(request, url)
        await request.shutdown()


async def test_an_answer_with_bare_line_feeds_does_not_hang() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok")
        await writer.drain()
        await asyncio.sleep(5)

    async with raw_server(handler) as (url, _):
        request = AiohttpRequest()
        try:
            assert await asyncio.wait_for(send(request, url, read=2.0), 4.0) == (200, b"ok")
        except NetworkError:
            pass  # refusing it is as good: what matters is an answer, not a hang
        await request.shutdown()


# -- timeouts and failures --------------------------------------------------------------------
async def test_read_timeout_is_timed_out_and_the_next_request_goes_through() -> None:
    answered = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answered
        await read_request(reader)
        if answered == 0:
            answered += 1
            await asyncio.sleep(0.5)  # too late: the client gave up
        writer.write(ok())
        await writer.drain()
        await read_request(reader)

    async with raw_server(handler) as (url, _):
        request = AiohttpRequest()
        with pytest.raises(TimedOut):
            await send(request, url, read=0.1)
        assert (await send(request, url))[0] == 200
        await request.shutdown()


async def test_pool_timeout_when_every_connection_is_busy() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            await asyncio.sleep(0.4)
            writer.write(ok())
            await writer.drain()

    async with raw_server(handler) as (url, _):
        request = AiohttpRequest(1)
        first = asyncio.create_task(send(request, url))
        await asyncio.sleep(0.05)
        with pytest.raises(TimedOut):
            await send(request, url, pool=0.1)
        assert (await first)[0] == 200
        # the waiter that gave up left nothing behind: the pool still serves
        assert (await send(request, url, pool=1.0))[0] == 200
        await request.shutdown()


async def test_refused_connection_is_a_network_error() -> None:
    async with raw_server(read_request_only) as (url, _):
        pass  # closed: nothing listens on that port any more
    request = AiohttpRequest()
    with pytest.raises(NetworkError, match=r"(?i)connect"):
        await send(request, url)
    await request.shutdown()


async def read_request_only(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)


# -- TLS --------------------------------------------------------------------------------------
@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(  # noqa: S603 - fixed arguments
        [  # noqa: S607 - found on PATH above
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_https_verifies_the_certificate(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(ok())
        await writer.drain()
        await read_request(reader)

    async with raw_server(handler, tls=server_tls) as (url, heads):
        # the system's CAs do not know this certificate: refused, nothing sent
        request = AiohttpRequest()
        with pytest.raises(NetworkError, match=r"(?i)certificate"):
            await send(request, url)
        await request.shutdown()
        assert heads == []


# -- the dispatcher's bot ----------------------------------------------------------------------
def test_a_dispatcher_process_bot_has_the_request_class_and_rate_limiter_of_replies() -> None:
    bot = build_bot(TOKEN, "http://127.0.0.1:1", rate=250, pool=8)
    assert isinstance(bot.request, AiohttpRequest)
    assert isinstance(bot.rate_limiter, TelegramRateLimiter) and bot.rate_limiter.rate == 250
    assert bot.base_url == f"http://127.0.0.1:1/bot{TOKEN}"


async def test_a_proxy_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    async with raw_server(answer_forever) as (url, heads):
        proxy = url.split("/bot")[0]
        for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy)
        request = AiohttpRequest()
        target = f"http://api.telegram.invalid/bot{TOKEN}/getMe"
        assert (await send(request, target))[0] == 200
        await request.shutdown()
    # the proxy was asked for the Bot API's URL, in absolute form
    assert heads and heads[0].startswith(f"POST {target} HTTP/1.1".encode())


async def test_an_unusable_url_is_refused_without_echoing_the_token() -> None:
    request = AiohttpRequest()
    await request.initialize()
    try:
        for url in (f"ftp://127.0.0.1/bot{TOKEN}/sendMessage", f"http://[::1/bot{TOKEN}/getMe"):
            with pytest.raises(NetworkError) as refused:
                await request.do_request(url, "POST")
            assert TOKEN not in refused.value.message
            assert TOKEN.split(":")[1] not in str(refused.value)
    finally:
        await request.shutdown()


def test_the_applications_bot_has_the_same_request_class_and_one_rate_limiter(
    services: Services,
) -> None:
    application = build_application(services, token=TOKEN, send_rate=25, jobs=False)
    assert isinstance(application.bot.request, AiohttpRequest)
    limiter = application.bot.rate_limiter
    assert isinstance(limiter, TelegramRateLimiter) and limiter.rate == 25
