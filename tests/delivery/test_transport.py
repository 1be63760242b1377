"""LeanRequest, the dispatcher's HTTP backend: the Bot API's answers mapped exactly as with
HTTPXRequest, keep-alive reuse, a bounded pool, the HTTP/1.x framings, timeouts, broken
servers, TLS with verification."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from telegram import Bot, MessageEntity
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from bot.delivery.__main__ import build_bot, proxy_configured
from bot.delivery.dispatcher import _retry_after
from bot.delivery.transport import LeanRequest
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


async def send(request: LeanRequest, url: str, **timeouts: float) -> tuple[int, bytes]:
    return await request.send(
        url,
        "POST",
        b"chat_id=1&text=hi",
        content_type="application/x-www-form-urlencoded",
        read_timeout=timeouts.get("read", 5.0),
        connect_timeout=timeouts.get("connect", 5.0),
        pool_timeout=timeouts.get("pool", 1.0),
    )


# -- against the fake Bot API: what the dispatcher relies on -----------------------------------
async def test_bot_api_answers_map_to_the_same_errors_as_with_httpx() -> None:
    with FakeBotApi(limit=1000, blocked={3}, missing={5}) as api:
        request = LeanRequest(connection_pool_size=4)
        async with Bot(TOKEN, base_url=api.base_url, request=request) as bot:
            message = await bot.send_message(
                2, "Closed on Monday", entities=[MessageEntity("bold", 0, 6)]
            )
            assert message.message_id > 0 and message.chat.id == 2
            # form-encoded like HTTPXRequest: structured values as JSON, parsed by the fake
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
            assert _retry_after(caught.value) == 7
            edited = await bot.edit_message_text("new", chat_id=2, message_id=1)
            assert not isinstance(edited, bool) and edited.text == "new"
        # every call above went over one kept-alive connection
        assert request.connections_opened == 1


async def test_wrong_token_is_invalid_token() -> None:
    with FakeBotApi(limit=1000) as api:
        with pytest.raises(InvalidToken):
            async with Bot("999:wrong", base_url=api.base_url, request=LeanRequest()):
                pass


async def test_pool_bounds_the_connections_and_serves_everyone() -> None:
    with FakeBotApi(limit=10_000, latency=0.01) as api:
        request = LeanRequest(connection_pool_size=4, pool_timeout=10)
        async with Bot(TOKEN, base_url=api.base_url, request=request) as bot:
            messages = await asyncio.gather(*(bot.send_message(c, "x") for c in range(1, 51)))
        assert len({m.message_id for m in messages}) == 50
        assert api.state.delivered_chats() == set(range(1, 51))
        assert request.connections_opened <= 4


async def test_file_uploads_are_refused_before_anything_is_sent() -> None:
    with FakeBotApi(limit=1000) as api:
        async with Bot(TOKEN, base_url=api.base_url, request=LeanRequest()) as bot:
            with pytest.raises(NetworkError, match="does not upload files"):
                await bot.send_document(1, document=b"data", filename="a.txt")
        assert "sendDocument" not in api.state.methods


# -- HTTP framings ----------------------------------------------------------------------------
async def test_chunked_close_and_http10_framings() -> None:
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
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # interim: the real answer follows
        writer.write(ok(b"second", b"Connection: close\r\n"))
        await writer.drain()

    async with raw_server(handler) as (url, heads):
        request = LeanRequest()
        assert await send(request, url) == (200, b'{"ok":true,"result":{"a":1}}')
        assert await send(request, url) == (200, b"second")
        assert request.connections_opened == 1 and len(heads) == 2
        assert heads[0].startswith(b"POST /bot" + TOKEN.encode() + b"/sendMessage HTTP/1.1")
        assert b"Content-Type: application/x-www-form-urlencoded" in heads[0]
        await request.shutdown()

    async def http10(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.0 502 Bad Gateway\r\nContent-Type: text/html\r\n\r\n<html>")
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.write(b"bad gateway</html>")
        await writer.drain()

    async with raw_server(http10) as (url, _):
        request = LeanRequest()
        # no length: the body runs until the server closes
        assert await send(request, url) == (502, b"<html>bad gateway</html>")
        # a 502 that is not JSON is a NetworkError through PTB's mapping, as with httpx
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await request.post(url)
        assert request.connections_opened == 2


async def test_a_connection_the_server_closed_is_not_reused() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(ok())  # keep-alive by default, but the server closes it anyway
        await writer.drain()

    async with raw_server(handler) as (url, heads):
        request = LeanRequest()
        assert (await send(request, url))[0] == 200
        await asyncio.sleep(0.05)  # the close arrives while the connection is idle
        assert (await send(request, url))[0] == 200
        assert request.connections_opened == 2 and len(heads) == 2


async def test_connections_are_kept_per_server() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            writer.write(ok())
            await writer.drain()

    async with raw_server(handler) as (url_a, heads_a), raw_server(handler) as (url_b, heads_b):
        request = LeanRequest(connection_pool_size=1, pool_timeout=1)
        for url in (url_a, url_b, url_a, url_b):
            assert (await send(request, url))[0] == 200
        # each request reached its own server; with room for one connection, each switch
        # closed the other server's idle one
        assert len(heads_a) == 2 and len(heads_b) == 2
        assert request.connections_opened == 4
        assert (await send(request, url_b))[0] == 200
        assert request.connections_opened == 4  # same server again: reused


@pytest.mark.parametrize(
    "answer, match",
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", "before the response"),
        (b"SSH-2.0-OpenSSH\r\n\r\n", "invalid HTTP response"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "invalid HTTP response"),
        (b"", "before the response"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nabc", "chunk size"),
        (b"HTTP/1.1 200 OK\r\nX" + b"x" * 70_000, "head too large"),
    ],
)
async def test_a_broken_answer_is_a_network_error(answer: bytes, match: str) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer)
        await writer.drain()

    async with raw_server(handler) as (url, _):
        request = LeanRequest()
        with pytest.raises(NetworkError, match=match):
            await send(request, url)


# -- timeouts and failures --------------------------------------------------------------------
async def test_read_timeout_closes_the_connection_and_the_next_request_uses_a_new_one() -> None:
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
        request = LeanRequest()
        with pytest.raises(TimedOut):
            await send(request, url, read=0.1)
        assert (await send(request, url))[0] == 200
        assert request.connections_opened == 2


async def test_pool_timeout_when_every_connection_is_busy() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            await asyncio.sleep(0.4)
            writer.write(ok())
            await writer.drain()

    async with raw_server(handler) as (url, _):
        request = LeanRequest(connection_pool_size=1)
        first = asyncio.create_task(send(request, url))
        await asyncio.sleep(0.05)
        with pytest.raises(TimedOut, match="not sent"):
            await send(request, url, pool=0.1)
        assert (await first)[0] == 200
        # the waiter that gave up left nothing behind: the pool still serves
        assert (await send(request, url, pool=1.0))[0] == 200


async def test_refused_connection_is_a_network_error() -> None:
    async with raw_server(read_request_only) as (url, _):
        pass  # closed: nothing listens on that port any more
    with pytest.raises(NetworkError, match="connecting"):
        await send(LeanRequest(), url)


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
        trusting = ssl.create_default_context(cafile=str(cert))
        assert (await send(LeanRequest(ssl_context=trusting), url))[0] == 200
        assert heads and heads[0].startswith(b"POST ")
        # the system's CAs do not know this certificate: refused, nothing sent
        with pytest.raises(NetworkError, match="CERTIFICATE_VERIFY_FAILED"):
            await send(LeanRequest(), url)
        assert len(heads) == 1


# -- which backend the dispatcher's Bot gets --------------------------------------------------
def test_build_bot_uses_lean_request_unless_a_proxy_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    assert not proxy_configured()
    assert isinstance(build_bot(TOKEN, "http://127.0.0.1:1", 8).request, LeanRequest)
    monkeypatch.setenv("https_proxy", "http://proxy.invalid:3128")
    assert proxy_configured()
    assert isinstance(build_bot(TOKEN, None, 8).request, HTTPXRequest)


async def test_an_unusable_url_is_refused_without_echoing_the_token() -> None:
    request = LeanRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as refused:
            await request.do_request(f"ftp://127.0.0.1/bot{TOKEN}/sendMessage", "POST")
        assert TOKEN not in refused.value.message
        assert TOKEN.split(":")[1] not in str(refused.value)
    finally:
        await request.shutdown()
