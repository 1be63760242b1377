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

- updates, as Telegram keeps them: :meth:`BotApiState.push_update` queues one; ``getUpdates``
  (``offset`` confirms, ``limit``, long polling ``timeout``) hands them out; 409 Conflict
  while a webhook is set, and to a waiting ``getUpdates`` when a newer one arrives; ``setWebhook``
  (an https ``url``; ``secret_token`` of 1-256 characters A-Z, a-z, 0-9, _ and -, else 400),
  ``deleteWebhook`` and ``getWebhookInfo`` keep the webhook's settings.

Methods: getMe, sendMessage, editMessageText, editMessageReplyMarkup, answerCallbackQuery,
deleteMessage, setMyCommands, getUpdates, setWebhook, deleteWebhook, getWebhookInfo.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
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
#: setWebhook's secret_token: "1-256 characters. Only characters A-Z, a-z, 0-9, _ and -"
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
#: how often a long-polling getUpdates looks for new updates
POLL_STEP = 0.01


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
    #: messages accepted (sent or edited), in order, whatever ``record_events`` says
    delivered: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _window: deque[float] = field(default_factory=deque)
    _chat_last: dict[int, float] = field(default_factory=dict)
    _forced: deque[int] = field(default_factory=deque)
    _paused_until: float = 0.0
    _paused_from: float = 0.0
    _message_id: int = 0
    #: the webhook set by setWebhook: {"url": ..., "secret_token": ...}, or None
    webhook: dict[str, str] | None = None
    #: updates not confirmed yet (getUpdates' offset confirms them)
    pending_updates: list[dict[str, Any]] = field(default_factory=list)
    _poll_generation: int = 0
    _update_lock: threading.Lock = field(default_factory=threading.Lock)

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates (thread-safe)."""
        with self._update_lock:
            self.pending_updates.append(update)

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
            if status == 200:
                self.delivered.append((method, params))
            return status, body
        if method == "getMe":
            return 200, {"ok": True, "result": BOT_USER}
        if method in ("editMessageText", "editMessageReplyMarkup"):
            chat_id = int(params.get("chat_id", 0))
            message_id = int(params.get("message_id", 0))
            self.edits.append((chat_id, message_id, str(params.get("text", ""))))
            self.delivered.append((method, params))
            return 200, {
                "ok": True,
                "result": self._message(chat_id, str(params.get("text", "")), params),
            }
        if method in ("answerCallbackQuery", "deleteMessage", "setMyCommands"):
            return 200, {"ok": True, "result": True}
        if method in ("setWebhook", "deleteWebhook", "getWebhookInfo"):
            return self.webhook_method(method, params)
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}

    def webhook_method(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "getWebhookInfo":
            info = {"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False}
            return 200, {"ok": True, "result": {**info, "pending_update_count": 0}}
        url = str(params.get("url", ""))
        if method == "deleteWebhook" or not url:
            self.webhook = None
            if str(params.get("drop_pending_updates", "")).lower() == "true":
                with self._update_lock:
                    self.pending_updates.clear()
            return 200, {"ok": True, "result": True, "description": "Webhook was deleted"}
        if not url.startswith("https://"):
            return _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not SECRET_TOKEN.fullmatch(str(secret)):
            return _bad_request("secret token contains unallowed characters")
        self.webhook = {"url": url, "secret_token": str(secret or "")}
        return 200, {"ok": True, "result": True, "description": "Webhook was set"}

    async def get_updates(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Long polling: confirm below ``offset``, then wait up to ``timeout`` for updates."""
        self.methods["getUpdates"] += 1
        if self.webhook is not None:
            return _conflict("can't use getUpdates method while webhook is active")
        # A newer getUpdates ends the one still waiting, as Telegram does.
        self._poll_generation += 1
        generation = self._poll_generation
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        deadline = self.clock() + float(params.get("timeout") or 0)
        while True:
            if generation != self._poll_generation:
                return _conflict(
                    "terminated by other getUpdates request; make sure that only one bot "
                    "instance is running"
                )
            with self._update_lock:
                self.pending_updates = [u for u in self.pending_updates if u["update_id"] >= offset]
                ready = self.pending_updates[:limit]
            if ready or self.clock() >= deadline:
                return 200, {"ok": True, "result": ready}
            await asyncio.sleep(POLL_STEP)


def _bad_request(reason: str) -> tuple[int, dict[str, Any]]:
    return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {reason}"}


def _conflict(reason: str) -> tuple[int, dict[str, Any]]:
    description = f"Conflict: {reason}"
    return 409, {"ok": False, "error_code": 409, "description": description}


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
        if request.path_params["method"] == "getUpdates":
            status, body = await state.get_updates(params)
        else:
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
