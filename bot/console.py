"""``bookbot chat``: the same Application, in the terminal.

Bot messages are printed; buttons are numbered ``[1] label``; the user types a number (or the
button's label, spaces and case as they like: "9:00 am" presses "9:00\u202fAM") to press it, or
any text to answer. A keyboard edited in place (a reminder's buttons) is printed again. The
calendar keeps its blank cells, so each day sits under its weekday. Input may be piped, so a
test can script a whole booking; Ctrl-C or Ctrl-D ends it. Nothing leaves the machine: the Bot
API is :class:`bot.local_api.LocalBotApi`.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import threading
import unicodedata
from typing import Any, TextIO

from telegram import Update
from telegram.ext import ExtBot

from bot.app import build_application
from bot.delivery.dispatcher import Dispatcher
from bot.local_api import LOCAL_TOKEN, ApiCall, LocalBotApi, UpdateFactory
from bot.rate_limiter import Priority, TelegramRateLimiter
from bot.services import Services

#: Button labels that are layout, not choices (calendar padding and closed days).
_FILLER = {"", " ", "·"}
#: A keyboard row of at least this many cells is a grid (the calendar's weeks): its cells are
#: printed in columns of one width.
_GRID = 5


def normalized(label: str) -> str:
    """A label or a typed line as they are compared: compatibility characters folded (NFKC:
    the narrow no-break space Babel puts in "9:00\u202fAM" becomes a space), spaces collapsed,
    case ignored."""
    return " ".join(unicodedata.normalize("NFKC", label).split()).casefold()


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
        elif call.method == "editMessageReplyMarkup":
            self.out.write("\n(buttons changed)\n")
            self._keyboard(call.params.get("reply_markup"), call.message_id)
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
            self._keyboard(markup, call.message_id)
        elif isinstance(markup, dict) and "keyboard" in markup:
            self.out.write("  (type your phone number)\n")

    def _keyboard(self, markup: Any, message_id: int | None) -> None:
        """Number the buttons of ``markup`` (the newest menu) and print them, row by row."""
        self.buttons = []
        self.menu_message_id = message_id or 0
        rows: list[list[str]] = []
        inline = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
        for row in inline:
            cells = []
            for button in row:
                if button["text"] in _FILLER:
                    # Kept (blank, or a closed day's dot) so the grid's columns stay in place.
                    cells.append(button["text"].strip())
                    continue
                self.buttons.append((button["text"], button.get("callback_data", "")))
                cells.append(f"[{len(self.buttons)}] {button['text']}")
            rows.append(cells)
        width = max((len(c) for cells in rows if len(cells) >= _GRID for c in cells), default=0)
        for cells in rows:
            if len(cells) >= _GRID:
                line = "  ".join(cell.ljust(width) for cell in cells).rstrip()
            else:
                line = "   ".join(cell for cell in cells if cell)
            if line.strip():
                self.out.write("  " + line + "\n")
        if not inline:
            self.out.write("  (no buttons)\n")

    def press(self, line: str) -> str | None:
        """Callback data for a typed number or label, if it names a button."""
        if line.strip().isdigit() and 1 <= int(line) <= len(self.buttons):
            return self.buttons[int(line) - 1][1]
        typed = normalized(line)
        for label, data in self.buttons:
            if normalized(label) == typed:
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
            "/help for commands, Ctrl-D or Ctrl-C to quit.\n"
        )
        await application.process_update(updates.text("/start"))
        # what the outbox owes (a booking notice for an admin, reminders) arrives as in Telegram
        bot = await _dispatcher_bot(api)
        await Dispatcher(services.sessions, bot, poll_interval=0.05).run(until_idle=True)
        lines = _lines_of(stdin)
        while True:
            if interactive:
                stdout.write("> ")
                stdout.flush()
            line = await lines.get()
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


def _lines_of(stdin: TextIO) -> asyncio.Queue[str]:
    """The lines of ``stdin`` as they are typed ("" at the end), read by a daemon thread: a
    blocking read in the loop's executor would keep Ctrl-C waiting for one more line (the
    executor is joined at exit), and a daemon thread is simply left behind."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        for line in itertools.chain(iter(stdin.readline, ""), [""]):
            try:
                loop.call_soon_threadsafe(queue.put_nowait, line)
            except RuntimeError:  # the loop is closed: the console has ended
                return

    threading.Thread(target=read, name="console-stdin", daemon=True).start()
    return queue


def _update_for(line: str, screen: ConsoleScreen, updates: UpdateFactory) -> Update:
    if line.startswith("/"):
        return updates.text(line.strip())
    data = screen.press(line)
    if data is not None:
        return updates.button(data, message_id=screen.menu_message_id)
    return updates.text(line)
