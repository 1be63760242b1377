"""Load benchmark: K customers at once against real ``bookbot run`` process(es), over HTTP.

    python bench/load.py --customers 200 --seconds 30                  # one process, SQLite
    python bench/load.py --workers 2 --database postgresql+asyncpg://postgres@127.0.0.1/bench

In this process, on 127.0.0.1: the fake Bot API (tests/fakes/bot_api.py) answering every
request after ``--rtt-ms`` (default 50) and enforcing ``--budget`` messages a second with 429s,
and the fake bookingtime platform (tests/fakes/bookingtime) answering after ``--platform-ms``
(default 100). ``bookbot run`` (``--workers N``: ``bookbot run --workers N``) is started as
production starts it, configured with one bookingtime business, and gets updates by webhook
(default; the driver posts them as Telegram does, over up to 40 connections) or by polling
(``--mode polling``: the fake hands them out through ``getUpdates``).

Each customer repeats: ``/book``, taps the first service, the first day, the first time (each tap
costs the platform a round trip or more), then ``/cancel``; it sends its next update
``--think-ms`` after the reply to its previous one arrived (default: K / budget seconds, so the
customers together ask for about the budget). A reply is the first ``sendMessage`` or
``editMessageText`` the fake receives for the customer's chat after the update was sent.

The last line: ``updates_per_s=… share_of_budget=… p50_ms=… p95_ms=… p99_ms=… 429s=…
duplicates=… lost=… peak_mb=…``: updates answered per second and messages (sends and edits) per
second as a share of ``--budget``, both in the steady state (from one think time after the
start, when every customer has arrived, to the end); reply latency percentiles; 429s the fake
sent; updates answered by more than one message (duplicates) or by none within 30 s (lost);
the peak resident memory of the bookbot process(es), summed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.bookingtime import CLIENT_ID_ENV, FakeBookingtime, FakeBookingtimeApp  # noqa: E402
from tests.fakes.bookingtime.state import FakeClock  # noqa: E402
from tests.fakes.bot_api import TOKEN, FakeBotApi  # noqa: E402
from tests.many.processes import free_port, text_update  # noqa: E402

SECRET = "bench-secret_0123456789"
HOOK_PATH = "/hook"
REPLY_TIMEOUT_S = 30.0
CLIENT_ID = "benchCLIENTid0123456789abcdefghij"
REPLY_METHODS = ("sendMessage", "editMessageText")


class ServedInThread:
    """An ASGI app served by uvicorn on 127.0.0.1 in a thread of this process."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServedInThread:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def write_config(directory: Path, platform_port: int, organization: str) -> Path:
    base = f"http://127.0.0.1:{platform_port}"
    path = directory / "bookbot.toml"
    path.write_text(
        f"""
[[businesses]]
slug = "salon"
name = "Salon Mitte"
provider = "bookingtime"
timezone = "Europe/Berlin"

[businesses.settings]
organization_id = "{organization}"
client_id_env = "{CLIENT_ID_ENV}"
auth_url = "{base}/oauth/token"
api_url = "{base}/module/v3"
"""
    )
    return path


class Replies:
    """Watches the messages the fake Bot API accepted, chat by chat (polled from its record;
    a request it answered 429 is not a reply)."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api
        self.seen = 0
        self.waiting: dict[int, tuple[asyncio.Future[dict[str, Any]], float]] = {}
        self.extra: dict[int, int] = {}
        self.messages: list[float] = []

    def expect(self, chat: int) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[chat] = (future, time.monotonic())
        return future

    async def watch(self, stop: asyncio.Event) -> None:
        calls = self.api.state.delivered
        while not stop.is_set():
            new, self.seen = calls[self.seen : len(calls)], len(calls)
            now = time.monotonic()
            for method, params in new:
                if method not in REPLY_METHODS:
                    continue
                self.messages.append(now)
                chat = int(params.get("chat_id", 0))
                waiting = self.waiting.pop(chat, None)
                if waiting is None:
                    self.extra[chat] = self.extra.get(chat, 0) + 1
                elif not waiting[0].done():
                    waiting[0].set_result(params)
            await asyncio.sleep(0.002)


def buttons(params: dict[str, Any]) -> list[tuple[str, str]]:
    markup = params.get("reply_markup") or {}
    if isinstance(markup, str):
        import json

        markup = json.loads(markup)
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    return [(b.get("text", ""), b.get("callback_data", "")) for row in rows for b in row]


def next_tap(params: dict[str, Any]) -> str | None:
    """The customer's choice on a screen: a time, else a day, else the first option."""
    options = [(t, d) for t, d in buttons(params) if d]
    for test in (
        lambda t: t[:1].isdigit() and ":" in t,
        lambda t: t.isdigit(),
        lambda t: not any(w in t for w in ("Cancel", "Back", "«", "»", "‹", "›", "✖")),
    ):
        for text, data in options:
            if test(text):
                return data
    return None


def tap_update(user_id: int, data: str, update_id: int) -> dict[str, Any]:
    user = {"id": user_id, "is_bot": False, "first_name": "Anna", "language_code": "en"}
    message = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private"},
        "from": {"id": 123456, "is_bot": True, "first_name": "FakeBot"},
        "text": "menu",
    }
    query = {"id": str(update_id), "from": user, "chat_instance": "c", "data": data}
    return {"update_id": update_id, "callback_query": {**query, "message": message}}


class Load:
    """The customers, the delivery of their updates, and the measurements."""

    def __init__(self, args: argparse.Namespace, api: FakeBotApi, bot_port: int) -> None:
        self.args = args
        self.api = api
        self.replies = Replies(api)
        self.latencies: list[float] = []
        #: how long delivering an update took (webhook: until the bot's 200)
        self.acks: list[float] = []
        #: latencies by step: /book, the 1st, 2nd, 3rd tap, /cancel
        self.by_step: dict[str, list[float]] = {}
        self.lost = 0
        self.answered_at: list[float] = []
        self.answered = 0
        self.update_ids = iter(range(1, 10**9))
        limits = httpx.Limits(max_connections=40, max_keepalive_connections=40)
        self.http = httpx.AsyncClient(limits=limits, timeout=30)
        self.hook = f"http://127.0.0.1:{bot_port}{HOOK_PATH}"

    async def deliver(self, update: dict[str, Any]) -> None:
        if self.args.mode == "polling":
            self.api.state.push_update(update)
            return
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        response = await self.http.post(self.hook, json=update, headers=headers)
        response.raise_for_status()

    async def customer(self, user_id: int, deadline: float) -> None:
        think = self.args.think_ms / 1000
        # customers arrive spread over one think time: a steady load from the start
        await asyncio.sleep(think * (user_id % self.args.customers) / self.args.customers)
        pending: str | None = None
        taps = 0
        while time.monotonic() < deadline:
            update_id = next(self.update_ids)
            if pending is not None and taps < 3:
                update = tap_update(user_id, pending, update_id)
                taps += 1
                step = f"tap{taps}"
            else:
                step = "/book" if pending is None else "/cancel"
                update = text_update(user_id, step, update_id)
                taps = 0
            reply = self.replies.expect(user_id)
            sent = time.monotonic()
            await self.deliver(update)
            self.acks.append(time.monotonic() - sent)
            try:
                params = await asyncio.wait_for(reply, REPLY_TIMEOUT_S)
            except TimeoutError:
                self.lost += 1
                pending = None
                continue
            self.latencies.append(time.monotonic() - sent)
            self.by_step.setdefault(step, []).append(time.monotonic() - sent)
            self.answered += 1
            self.answered_at.append(time.monotonic())
            pending = None if step == "/cancel" else next_tap(params)
            await asyncio.sleep(think)

    async def run(self) -> dict[str, float]:
        stop = asyncio.Event()
        watcher = asyncio.create_task(self.replies.watch(stop))
        started = time.monotonic()
        deadline = started + self.args.seconds
        base = 1_000_000
        await asyncio.gather(
            *(self.customer(base + n, deadline) for n in range(self.args.customers))
        )
        await asyncio.sleep(1.0)  # late extras
        stop.set()
        await watcher
        await self.http.aclose()
        lat = sorted(self.latencies) or [0.0]
        # the steady state: once every customer has arrived (one think time), until the end
        steady = started + self.args.think_ms / 1000 + 1.0
        span = max(deadline - steady, 1e-9)
        window = [t for t in self.replies.messages if steady <= t <= deadline]
        answered = [t for t in self.answered_at if steady <= t <= deadline]

        def pct(p: float) -> float:
            return 1000 * lat[min(len(lat) - 1, int(p * len(lat)))]

        return {
            "updates_per_s": len(answered) / span,
            "share_of_budget": len(window) / span / self.args.budget,
            "p50_ms": 1000 * statistics.median(lat),
            "p95_ms": pct(0.95),
            "p99_ms": pct(0.99),
            "429s": float(self.api.state.rejected_429),
            "duplicates": float(sum(self.replies.extra.values())),
            "lost": float(self.lost),
        }


def family(pid: int) -> list[int]:
    """``pid`` and its children (the workers of ``--workers``)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [pid, *(int(p) for p in children.read_text().split())] if children.exists() else [pid]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by ``pid`` and its children (Linux /proc)."""
    total = 0
    for each in family(pid):
        stat = Path(f"/proc/{each}/stat")
        if stat.exists():
            fields = stat.read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_peak_mb(pid: int) -> float:
    """Peak resident memory of ``pid`` and its children, MB (Linux /proc)."""
    total = 0.0
    for each in family(pid):
        status = Path(f"/proc/{each}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
    return total


def start_bookbot(args: argparse.Namespace, api: FakeBotApi, config: Path, db: str) -> Any:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOOKBOT_", "TELEGRAM_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{api.port}",
        BOOKBOT_CONFIG=str(config),
        BOOKBOT_DATABASE_URL=db,
        BOOKBOT_WEBHOOK_PORT=str(port),
        BOOKBOT_SEND_RATE=str(args.budget),
        BOOKBOT_DISPATCHER="off",
        **{CLIENT_ID_ENV: CLIENT_ID},
    )
    if args.mode == "webhook":
        env.update(
            BOOKBOT_WEBHOOK_URL=f"https://bench.example.test{HOOK_PATH}",
            BOOKBOT_WEBHOOK_SECRET=SECRET,
        )
    if args.redis:
        env["BOOKBOT_REDIS_URL"] = args.redis
    log = open(config.parent / "bookbot.log", "wb")
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bot.cli", "run", "--workers", str(args.workers)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while (config.parent / "bookbot.log").read_text().count("bookbot is running") < args.workers:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit((config.parent / "bookbot.log").read_text()[-3000:])
        time.sleep(0.2)
    return proc, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--budget", type=float, default=30.0, help="messages/s of the token")
    parser.add_argument("--rtt-ms", type=float, default=50.0)
    parser.add_argument("--platform-ms", type=float, default=100.0)
    parser.add_argument("--think-ms", type=float, default=None)
    parser.add_argument("--mode", choices=["webhook", "polling"], default="webhook")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--redis", default=os.environ.get("BOOKBOT_REDIS_URL"))
    args = parser.parse_args()
    if args.think_ms is None:
        args.think_ms = 1000 * args.customers / args.budget
    platform = FakeBookingtime(client_id=CLIENT_ID, clock=FakeClock(datetime.now(UTC)))
    platform.control.latency = args.platform_ms / 1000
    with (
        tempfile.TemporaryDirectory() as tmp,
        ServedInThread(FakeBookingtimeApp(platform)) as platform_server,
        FakeBotApi(limit=args.budget, latency=args.rtt_ms / 1000) as api,
    ):
        config = write_config(Path(tmp), platform_server.port, platform.organization.id)
        db = args.database or f"sqlite+aiosqlite:///{Path(tmp) / 'bookbot.db'}"
        proc, port = start_bookbot(args, api, config, db)
        try:
            load = Load(args, api, port)
            cpu_before = cpu_seconds(proc.pid)
            driver_before, wall_before = time.process_time(), time.monotonic()
            figures = asyncio.run(load.run())
            cpu = cpu_seconds(proc.pid) - cpu_before
            driver = (time.process_time() - driver_before) / (time.monotonic() - wall_before)
            print(f"# this process (the fakes and the customers): {100 * driver:.0f}% of a core")
            figures["peak_mb"] = rss_peak_mb(proc.pid)
            print(f"# bookbot CPU: {1e6 * cpu / max(load.answered, 1):.0f} µs per update")
            acks = sorted(load.acks) or [0.0]
            print(
                f"# delivering an update (webhook: until acknowledged): p50_ms="
                f"{1000 * acks[len(acks) // 2]:.0f} p95_ms={1000 * acks[int(0.95 * len(acks))]:.0f}"
            )
            for step, values in load.by_step.items():
                values.sort()
                print(
                    f"# {step:8} n={len(values):5} p50_ms={1000 * values[len(values) // 2]:.0f} "
                    f"p95_ms={1000 * values[int(0.95 * len(values))]:.0f}"
                )
        finally:
            proc.terminate()
            proc.wait(60)
    print(
        f"# {args.customers} customers, {args.mode}, {args.workers} worker(s), budget "
        f"{args.budget:g}/s, Bot API {args.rtt_ms:g} ms, platform {args.platform_ms:g} ms, "
        f"think {args.think_ms:.0f} ms, {args.seconds:g} s"
    )
    print(
        " ".join(
            f"{name}={value:.2f}"
            if "ms" in name or "share" in name or "per_s" in name
            else f"{name}={value:.0f}"
            for name, value in figures.items()
        )
    )


if __name__ == "__main__":
    main()
