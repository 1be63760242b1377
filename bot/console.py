"""``bookbot chat``: the same Application, in the terminal.

Bot messages are printed; buttons are numbered ``[1] label``; the user types a number (or the
button's label) to press it, or any text to answer. Input may be piped, so a test can script a
whole booking. Nothing leaves the machine: the Bot API is :class:`bot.local_api.LocalBotApi`.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from telegram import Update
from telegram.ext import ExtBot

from bot.app import build_application
from bot.delivery.dispatcher import Dispatcher
from bot.local_api import LOCAL_TOKEN, ApiCall, LocalBotApi, UpdateFactory
from bot.rate_limiter import Priority, TelegramRateLimiter
from bot.services import Services

#: Button labels that are layout, not choices (calendar padding and closed days).
_FILLER = {"", " ", "·"}


class ConsoleScreen:
    """Prints what the bot sends and remembers the newest menu's buttons."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.buttons: list[tuple[str, str]] = []
        self.menu_message_id = 0

    #: the console user's chat: what the dispatcher sends to other chats (a booking notice to
    #: the business's admin) is shown as "(to chat N)", without its buttons
    chat_id: int | None = None

    def __call__(self, call: ApiCall) -> None:
        chat = call.params.get("chat_id")
        if self.chat_id is not None and chat is not None and int(chat) != self.chat_id:
            if call.method == "sendMessage":
                self.out.write(f"\n(to chat {chat}) {call.params.get('text', '')}\n")
                self.out.flush()
            return
        if call.method in ("sendMessage", "editMessageText"):
            self._message(call)
        elif call.method == "answerCallbackQuery" and call.params.get("text"):
            self.out.write(f"  ({call.params['text']})\n")
        elif call.method in ("sendDocument", "sendPhoto"):
            sizes = ", ".join(f"{len(data):,} bytes" for data in call.files.values())
            self.out.write(f"\n(a file: {call.params.get('caption') or ''} {sizes})\n")
        elif call.method == "deleteMessage":
            self.out.write("  (your message was deleted from the chat)\n")
        self.out.flush()

    def _message(self, call: ApiCall) -> None:
        self.out.write("\n" + ("(edited) " if call.method == "editMessageText" else ""))
        self.out.write(str(call.params.get("text", "")) + "\n")
        markup = call.params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            self.buttons = []
            self.menu_message_id = call.message_id or 0
            for row in markup["inline_keyboard"]:
                cells = []
                for button in row:
                    if button["text"] in _FILLER:
                        continue
                    self.buttons.append((button["text"], button.get("callback_data", "")))
                    cells.append(f"[{len(self.buttons)}] {button['text']}")
                if cells:
                    self.out.write("  " + "   ".join(cells) + "\n")
        elif isinstance(markup, dict) and "keyboard" in markup:
            self.out.write("  (type your phone number)\n")

    def press(self, line: str) -> str | None:
        """Callback data for a typed number or label, if it names a button."""
        if line.isdigit() and 1 <= int(line) <= len(self.buttons):
            return self.buttons[int(line) - 1][1]
        for label, data in self.buttons:
            if label.strip().lower() == line.strip().lower():
                return data
        return None


async def run_console(
    services: Services,
    *,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    user_id: int = 1,
    language: str = "en",
) -> None:
    screen = ConsoleScreen(stdout)
    screen.chat_id = user_id
    api = LocalBotApi(on_call=screen, record=False)
    application = build_application(services, request=api, rate_limit=False, jobs=False)
    interactive = stdin.isatty()
    async with application:
        updates = UpdateFactory(
            application.bot, user_id=user_id, first_name="Console", language=language
        )
        stdout.write(
            "bookbot console: type a button's number or label, text to answer, "
            "/help for commands, Ctrl-D to quit.\n"
        )
        await application.process_update(updates.text("/start"))
        # what the outbox owes (a booking notice for an admin, reminders) arrives as in Telegram
        bot = await _dispatcher_bot(api)
        await Dispatcher(services.sessions, bot, poll_interval=0.05).run(until_idle=True)
        loop = asyncio.get_running_loop()
        while True:
            if interactive:
                stdout.write("> ")
                stdout.flush()
            line = await loop.run_in_executor(None, stdin.readline)
            if not line:
                break
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if not interactive:
                stdout.write(f"> {line}\n")
            await application.process_update(_update_for(line, screen, updates))
            # a dispatcher runs once (run() leaves it stopped): a new one after each line
            await Dispatcher(services.sessions, bot, poll_interval=0.05).run(until_idle=True)
        stdout.write("\nbye\n")


async def _dispatcher_bot(api: LocalBotApi) -> ExtBot[Priority]:
    """The outbox dispatcher's bot, on the console's Bot API (a dispatcher's bot has the
    token's rate limiter, as ``bookbot dispatch`` builds it)."""
    bot: ExtBot[Priority] = ExtBot(
        LOCAL_TOKEN, request=api, get_updates_request=api, rate_limiter=TelegramRateLimiter()
    )
    await bot.initialize()
    return bot


def _update_for(line: str, screen: ConsoleScreen, updates: UpdateFactory) -> Update:
    if line.startswith("/"):
        return updates.text(line.strip())
    data = screen.press(line)
    if data is not None:
        return updates.button(data, message_id=screen.menu_message_id)
    return updates.text(line)
