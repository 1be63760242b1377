"""A fake Telegram Bot API server: real HTTP on 127.0.0.1, ``/bot<token>/<method>``.

It enforces what the delivery engine must respect and records what it received:

- a global limit of ``limit`` accepted messages in any one-second window; beyond it a 429 with
  ``parameters.retry_after`` (whole seconds, like Telegram);
- one message per second per chat (a 429 with ``retry_after`` 1 beyond it, 5 % tolerance for
  network jitter);
- 403 "Forbidden: bot was blocked by the user" for chats in ``blocked``, 400 "Bad Request: chat
  not found" for chats in ``missing``;
- :meth:`BotApiState.force_429` makes the next requests fail with a given ``retry_after``, and
  ``pause_violations`` counts messages that arrived while a 429's pause was running (beyond a
  short grace for requests already in flight when the 429 was sent);
- every accepted ``sendMessage`` is counted per (chat, text): ``duplicates`` and
  :meth:`BotApiState.delivered_chats` give duplicate and loss counts;
- ``echo_path`` (method, or ``"*"`` for every method, -> status) makes it answer like the
  server or proxy in front of a misconfigured Bot API address often does: a page that is not
  JSON and echoes the request path (``Cannot POST /bot<token>/sendMessage``, Express's), token
  included.

Run in a thread (:class:`FakeBotApi`, for tests) or as a process for the benchmark:
``python -m tests.fakes.bot_api --limit 1000 --port-file /tmp/port`` (stats at
``GET /control/stats``).

Methods: getMe, sendMessage, editMessageText, editMessageReplyMarkup, answerCallbackQuery,
deleteMessage, setMyCommands.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

TOKEN = "123456:TEST-token"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "FakeBot", "username": "fake_bot"}
#: requests arriving this soon after a 429 were probably sent before the client saw it
IN_FLIGHT_GRACE = 0.15


@dataclass
class Event:
    at: float
    method: str
    chat_id: int | None
    status: int


@dataclass
class BotApiState:
    """Server-side state; safe to read from the test thread."""

    limit: float = 30.0
    token: str = TOKEN
    per_chat_interval: float = 1.0
    blocked: set[int] = field(default_factory=set)
    missing: set[int] = field(default_factory=set)
    latency: float = 0.0
    record_events: bool = True
    clock: Callable[[], float] = time.monotonic
    echo_path: dict[str, int] = field(default_factory=dict)

    accepted: int = 0
    rejected_429: int = 0
    #: the 429s for the global limit and for the per-chat limit (the rest were forced)
    rejected_global: int = 0
    rejected_chat: int = 0
    forbidden: int = 0
    pause_violations: int = 0
    first_accept: float | None = None
    last_accept: float | None = None
    deliveries: Counter[tuple[int, str]] = field(default_factory=Counter)
    methods: Counter[str] = field(default_factory=Counter)
    events: list[Event] = field(default_factory=list)
    edits: list[tuple[int, int, str]] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _window: deque[float] = field(default_factory=deque)
    _chat_last: dict[int, float] = field(default_factory=dict)
    _forced: deque[int] = field(default_factory=deque)
    _paused_until: float = 0.0
    _paused_from: float = 0.0
    _message_id: int = 0

    def force_429(self, count: int, retry_after: int) -> None:
        """The next ``count`` sendMessage requests get a 429 with ``retry_after``."""
        self._forced.extend([retry_after] * count)

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.deliveries.values() if n > 1)

    def delivered_chats(self) -> set[int]:
        return {chat for chat, _ in self.deliveries}

    def stats(self) -> dict[str, Any]:
        span = (self.last_accept or 0.0) - (self.first_accept or 0.0)
        return {
            "accepted": self.accepted,
            "rejected_429": self.rejected_429,
            "rejected_global": self.rejected_global,
            "rejected_chat": self.rejected_chat,
            "forbidden": self.forbidden,
            "pause_violations": self.pause_violations,
            "duplicates": self.duplicates,
            "distinct_chats": len(self.delivered_chats()),
            "span_seconds": span,
            "rate": (self.accepted - 1) / span if span > 0 else 0.0,
        }

    # -- the rules --------------------------------------------------------------------------
    def _too_many(self, now: float, retry_after: int) -> tuple[int, dict[str, Any]]:
        self.rejected_429 += 1
        if now + retry_after > self._paused_until:
            self._paused_from, self._paused_until = now, now + retry_after
        return 429, {
            "ok": False,
            "error_code": 429,
            "description": f"Too Many Requests: retry after {retry_after}",
            "parameters": {"retry_after": retry_after},
        }

    def send_message(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        now = self.clock()
        chat_id = int(params["chat_id"])
        if self._paused_from + IN_FLIGHT_GRACE < now < self._paused_until:
            self.pause_violations += 1
        if self._forced:
            return self._too_many(now, self._forced.popleft())
        window = self._window
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.limit:
            self.rejected_global += 1
            return self._too_many(now, max(1, math.ceil(window[0] + 1.0 - now)))
        last = self._chat_last.get(chat_id)
        if last is not None and now - last < self.per_chat_interval * 0.95:
            self.rejected_chat += 1
            return self._too_many(now, 1)
        if chat_id in self.blocked:
            self.forbidden += 1
            return 403, {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            }
        if chat_id in self.missing:
            return 400, {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: chat not found",
            }
        window.append(now)
        self._chat_last[chat_id] = now
        self.accepted += 1
        self.first_accept = self.first_accept or now
        self.last_accept = now
        text = str(params.get("text", ""))
        self.deliveries[(chat_id, text)] += 1
        return 200, {"ok": True, "result": self._message(chat_id, text, params)}

    def _message(self, chat_id: int, text: str, params: dict[str, Any]) -> dict[str, Any]:
        self._message_id += 1
        message: dict[str, Any] = {
            "message_id": self._message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": BOT_USER,
            "text": text,
        }
        for key in ("entities", "reply_markup"):
            if params.get(key):
                message[key] = params[key]
        return message

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.methods[method] += 1
        if self.record_events:
            self.calls.append((method, params))
        if method == "sendMessage":
            status, body = self.send_message(params)
            if self.record_events:
                self.events.append(Event(self.clock(), method, int(params["chat_id"]), status))
            return status, body
        if method == "getMe":
            return 200, {"ok": True, "result": BOT_USER}
        if method in ("editMessageText", "editMessageReplyMarkup"):
            chat_id = int(params.get("chat_id", 0))
            message_id = int(params.get("message_id", 0))
            self.edits.append((chat_id, message_id, str(params.get("text", ""))))
            return 200, {
                "ok": True,
                "result": self._message(chat_id, str(params.get("text", "")), params),
            }
        if method in ("answerCallbackQuery", "deleteMessage", "setMyCommands"):
            return 200, {"ok": True, "result": True}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}


async def _params(request: Request) -> dict[str, Any]:
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        data = json.loads(body or b"{}")
        return dict(data) if isinstance(data, dict) else {}
    # python-telegram-bot posts url-encoded forms; structured values are JSON strings
    params: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        params[key] = json.loads(value) if key in ("entities", "reply_markup") else value
    return params


def create_app(state: BotApiState) -> Starlette:
    async def api(request: Request) -> Response:
        echo = state.echo_path.get(request.path_params["method"], state.echo_path.get("*"))
        if echo is not None:
            state.methods[request.path_params["method"]] += 1
            page = f"<!DOCTYPE html><pre>Cannot {request.method} {request.url.path}</pre>"
            return HTMLResponse(page, echo)
        if request.path_params["token"] != state.token:
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, 401
            )
        params = await _params(request)
        if state.latency:
            await asyncio.sleep(state.latency)
        status, body = state.handle(request.path_params["method"], params)
        return JSONResponse(body, status)

    async def stats(_: Request) -> JSONResponse:
        return JSONResponse(state.stats())

    return Starlette(
        routes=[
            Route("/control/stats", stats, methods=["GET"]),
            Route("/bot{token}/{method}", api, methods=["GET", "POST"]),
        ]
    )


class FakeBotApi:
    """The fake served by uvicorn in a background thread: ``with FakeBotApi(limit=30) as api``."""

    def __init__(self, **state: Any) -> None:
        self.state = BotApiState(**state)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit it; without it Nagle + delayed ACKs add ~40 ms a request.
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        # http="auto": httptools (a dev dependency) when installed, half the CPU per request
        # of h11's pure-Python parser; the benchmark's fake shares two cores with the sender.
        config = uvicorn.Config(
            create_app(self.state),
            http="auto",
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """For ``telegram.Bot(token, base_url=...)``."""
        return f"http://127.0.0.1:{self.port}/bot"

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        self._server.run(sockets=[self._sock])

    def __enter__(self) -> FakeBotApi:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Bot API did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=float, default=30.0)
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    api = FakeBotApi(limit=args.limit, record_events=False)
    # Serve from the main thread: a process of its own needs no background thread.
    with open(args.port_file + ".tmp", "w") as handle:
        handle.write(str(api.port))
    os.replace(args.port_file + ".tmp", args.port_file)
    api.serve_forever()


if __name__ == "__main__":
    main()
