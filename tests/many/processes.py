"""Real ``bookbot run`` processes for the tests: started with the environment a deployer would
give them, against the fake Bot API (tests/fakes/bot_api.py), and played Telegram to over HTTP.

``BookbotProcess`` starts one (``bookbot run`` or ``bookbot run --workers N``), waits until its
``/healthz`` answers, posts updates to its webhook as Telegram does, and stops it with SIGTERM.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tests.fakes.bot_api import TOKEN

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-secret_0123456789"
WEBHOOK_PATH = "/hook/s3cret-path"
START_TIMEOUT_S = 60.0
_update_ids = itertools.count(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bookbot_env(api_port: int, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a webhook worker (``extra`` adds or overrides; "" removes)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOOKBOT_", "TELEGRAM_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{api_port}",
        BOOKBOT_DATABASE_URL=database_url,
        BOOKBOT_WEBHOOK_URL=f"https://bot.example.test{WEBHOOK_PATH}",
        BOOKBOT_WEBHOOK_SECRET=SECRET,
        BOOKBOT_WEBHOOK_PORT=str(free_port()),
        BOOKBOT_DISPATCHER="off",
    )
    env.update(extra)
    return {k: v for k, v in env.items() if v != ""}


class BookbotProcess:
    """One ``bookbot run`` (and its workers, with ``--workers``)."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.env = env
        self.port = int(env["BOOKBOT_WEBHOOK_PORT"])
        self._log = tempfile.TemporaryFile()  # the workers' output, read as it grows
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bot.cli", "run", *args],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.workers = int(args[args.index("--workers") + 1]) if "--workers" in args else 1

    @property
    def output(self) -> str:
        """Everything the process (and its workers) printed so far."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_running(self) -> None:
        """Until every worker said it is running (webhook set or polling started) and
        ``/healthz`` answers."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"bookbot ended at start-up:\n{self.finish()}")
            if self.output.count("bookbot is running") >= self.workers:
                assert httpx.get(f"{self.url}/healthz", timeout=5).status_code == 200
                return
            time.sleep(0.1)
        raise AssertionError(f"bookbot did not come up:\n{self.output}")

    def post(
        self, update: dict[str, Any], *, secret: str | None = SECRET, body: bytes | None = None
    ) -> int:
        """Post ``update`` as Telegram does (a new connection each time); the status."""
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        with httpx.Client(timeout=30) as client:
            response = client.post(
                f"{self.url}{WEBHOOK_PATH}",
                headers=headers,
                content=body if body is not None else json.dumps(update).encode(),
            )
        return response.status_code

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM, then wait for the graceful end; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.finish(timeout)
        return int(self.proc.returncode)

    def finish(self, timeout: float = 60.0) -> str:
        """Wait for the end; everything printed."""
        self.proc.wait(timeout=timeout)
        return self.output

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def text_update(user_id: int, text: str, update_id: int | None = None) -> dict[str, Any]:
    """A message in a private chat, as Telegram posts it."""
    message: dict[str, Any] = {
        "message_id": next(_update_ids),
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private"},
        "from": {"id": user_id, "is_bot": False, "first_name": "Anna", "language_code": "en"},
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id or next(_update_ids), "message": message}


def replies_to(calls: list[tuple[str, dict[str, Any]]], chat: int) -> list[str]:
    """The texts the bot sent to ``chat``, in order."""
    return [
        str(params.get("text", ""))
        for method, params in list(calls)
        if method == "sendMessage" and int(params.get("chat_id", 0)) == chat
    ]


def wait_until(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)
