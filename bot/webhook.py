"""Updates by webhook: :class:`WebhookReceiver`, the POST handler Telegram calls, on the
process's HTTP server (:mod:`bot.http_server`).

What a deployer can rely on:

- **The secret is required** and checked on every request (``X-Telegram-Bot-Api-Secret-Token``,
  compared in constant time): a request without it, or with another, is answered 403.
  :func:`secret_problem` refuses a missing secret or one Telegram would refuse, at start-up.
- **A bad body** (not JSON, not an update) is answered 400 and logged by its size alone: an
  update's text is personal data.
- **Acknowledged once durable**: the answer 200 goes only after the update is recorded in the
  inbox (:mod:`storage.inbox`, one row per ``update_id``, committed). If that fails, Telegram
  gets a 500 and sends the update again.
- **Handled once**, across every worker of the database: a repeat (Telegram resends what it
  thinks was not received; copies may reach two workers) finds its row and is acknowledged
  without being handled again.
- **Nothing accepted is lost**: on a graceful stop (:meth:`WebhookReceiver.drain`), new updates
  are refused with 503 (Telegram retries them, at another worker or after the restart) and the
  accepted ones are handled before the process ends. If the process dies first, their leases
  run out and any worker takes them over (:meth:`WebhookReceiver.keep_leases`).

One limit remains: a worker that dies after a turn was committed and before its update was
marked handled (a few milliseconds) has the update handled again when it is taken over.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import Application

from providers.base import utc_now
from storage import inbox

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
#: what Telegram accepts as ``secret_token`` (setWebhook): 1-256 of A-Z, a-z, 0-9, _ and -
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
#: how long a worker may hold an accepted update before another may take it over
LEASE = timedelta(seconds=60)
#: how often leases are renewed and abandoned updates looked for
LEASE_CHECK_S = 20.0
PRUNE_EVERY = timedelta(minutes=10)


def secret_problem(secret: str | None) -> str | None:
    """Why ``secret`` cannot protect the webhook (``None``: it can). Never quotes it."""
    if not secret:
        return (
            "BOOKBOT_WEBHOOK_SECRET is not set: the webhook would accept updates from anyone "
            "(set 1-256 characters of A-Z, a-z, 0-9, _ and -)"
        )
    if SECRET_PATTERN.fullmatch(secret) is None:
        return (
            "BOOKBOT_WEBHOOK_SECRET is not a secret Telegram accepts "
            f"({len(secret)} characters; allowed: 1-256 of A-Z, a-z, 0-9, _ and -)"
        )
    return None


class WebhookReceiver:
    """Receives Telegram's POSTs for ``application`` and hands each new update to its update
    processor (each chat's updates in order, chats at once)."""

    def __init__(
        self,
        application: Application,  # type: ignore[type-arg]
        database: AsyncEngine,
        secret: str,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if secret_problem(secret) is not None:
            raise ValueError("the webhook needs a valid secret (see secret_problem)")
        self.application = application
        self.database = database
        self._secret = secret.encode()
        self._clock = clock
        self._handling: dict[int, asyncio.Task[None]] = {}
        self._stopping = False
        self._last_prune = datetime.min.replace(tzinfo=UTC)
        #: repeats acknowledged without being handled again (since start)
        self.repeats = 0
        #: updates taken over from a worker that did not finish them
        self.taken_over = 0

    async def receive(self, request: web.Request) -> web.Response:
        """The webhook's POST handler."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            log.warning("webhook request refused: missing or wrong secret token")
            return web.Response(status=403)
        raw = await request.read()
        update = self._parse(raw)
        if update is None:
            log.warning("webhook body refused: not an update (%d bytes)", len(raw))
            return web.Response(status=400)
        if self._stopping:
            return web.Response(status=503)  # Telegram sends it again, elsewhere or later
        now = self._clock()
        if await inbox.accept(self.database, update.update_id, raw.decode(), now=now, lease=LEASE):
            self._start(update)
        else:
            self.repeats += 1
            log.info("update %d received again: acknowledged, not handled again", update.update_id)
        return web.Response(status=200)

    def _parse(self, raw: bytes) -> Update | None:
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                return None
            return Update.de_json(data, self.application.bot)
        except Exception:
            return None

    def _start(self, update: Update) -> None:
        task = asyncio.create_task(self._handle(update), name=f"update:{update.update_id}")
        self._handling[update.update_id] = task

    async def _handle(self, update: Update) -> None:
        application = self.application
        try:
            # process_update logs a handler's error itself (the error handler) and returns.
            await application.update_processor.process_update(
                update, application.process_update(update)
            )
            await inbox.mark_handled(self.database, update.update_id, now=self._clock())
        except Exception:
            # Left in the inbox: taken over once its lease runs out.
            log.exception("update %d not recorded as handled", update.update_id)
        finally:
            self._handling.pop(update.update_id, None)

    @property
    def in_flight(self) -> int:
        """Updates accepted and not handled yet."""
        return len(self._handling)

    async def keep_leases(self, stop: asyncio.Event) -> None:
        """Until ``stop``: renew the leases of what this worker is handling, take over what
        another worker (or this one, before a restart) accepted and did not finish, and forget
        handled updates older than Telegram's 24 hours."""
        while not stop.is_set():
            try:
                await self._check_leases()
            except Exception:
                log.exception("webhook lease check failed; trying again later")
            try:
                await asyncio.wait_for(stop.wait(), LEASE_CHECK_S)
            except TimeoutError:
                pass

    async def _check_leases(self) -> None:
        now = self._clock()
        await inbox.renew(self.database, list(self._handling), until=now + LEASE)
        for update_id, body in await inbox.claim_abandoned(self.database, now=now, lease=LEASE):
            update = self._parse(body.encode())
            if update is None:  # accepted bodies were parsed once: cannot happen
                await inbox.mark_handled(self.database, update_id, now=now)
                continue
            self.taken_over += 1
            log.info("update %d taken over from a worker that did not finish it", update_id)
            self._start(update)
        if now - self._last_prune >= PRUNE_EVERY:
            self._last_prune = now
            await inbox.prune(self.database, now=now)

    def refuse_new(self) -> None:
        """Answer new updates 503 from now on (Telegram sends them again later)."""
        self._stopping = True

    async def drain(self) -> None:
        """Refuse new updates from now on and wait until every accepted one is handled."""
        self.refuse_new()
        while self._handling:
            await asyncio.gather(*self._handling.values(), return_exceptions=True)
