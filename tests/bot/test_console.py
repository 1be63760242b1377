"""`bookbot chat` in a subprocess, scripted through stdin."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

from bot.console import ConsoleScreen
from bot.local_api import ApiCall

ROOT = Path(__file__).resolve().parents[2]


def test_a_whole_booking_scripted_through_bookbot_chat(tmp_path: Path) -> None:
    script = "\n".join(
        [
            "Haircut · 30 min · €25.00",  # a button by its label
            "2",  # Anna, by number (1 is "No preference")
            "⚡ Earliest available",
            "1",  # the first free time
            "Anna",
            "Martin",
            "+33 6 12 34 56 78",
            "anna@example.org",
            "✅ Confirm",
            "/mybookings",
        ]
    )
    env = {
        **os.environ,
        "BOOKBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}",
        "TELEGRAM_BOT_TOKEN": "",
    }
    env.pop("BOOKBOT_CONFIG", None)
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat"],
        input=script + "\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[1] Haircut · 30 min · €25.00" in out
    assert "Please check your booking" in out
    assert "✅ Booked! See you soon." in out
    assert "Your upcoming appointments:" in out
    assert "Traceback" not in result.stderr


def test_the_readme_walk_through_a_customer_books_the_admin_is_told_and_sees_it(
    tmp_path: Path,
) -> None:
    sample = (ROOT / "bot" / "sample_config.toml").read_text(encoding="utf-8")
    config = tmp_path / "salon.toml"
    config.write_text(sample.replace("admins = []", "admins = [50]", 1), encoding="utf-8")
    env = {
        **os.environ,
        "BOOKBOT_CONFIG": str(config),
        "BOOKBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}",
        "TELEGRAM_BOT_TOKEN": "",
    }

    def chat(user: int, *lines: str) -> str:
        result = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bot.cli", "chat", "--user", str(user)],
            input="\n".join(lines) + "\n",
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
            check=True,
        )
        return result.stdout

    customer = chat(
        1001, "1", "2", "⚡ Earliest available", "1", "Anna", "Martin",
        "+33 6 12 34 56 78", "anna@example.org", "✅ Confirm",
    )  # fmt: skip
    assert "✅ Booked!" in customer
    assert "(to chat 50) New booking at Salon Belle Rue\nHaircut with Anna, " in customer
    assert "Customer: Anna Martin, phone +33612345678" in customer
    # /week, not the README's /today: late in the evening the earliest time is tomorrow's
    admin = chat(50, "/week")
    assert "· Haircut · Anna · Anna Martin · +33612345678" in admin.split("> /week", 1)[1]


def _screen_after(*calls: ApiCall) -> tuple[ConsoleScreen, str]:
    out = io.StringIO()
    screen = ConsoleScreen(out)
    for call in calls:
        screen(call)
    return screen, out.getvalue()


def _keyboard(*rows: list[str]) -> dict[str, object]:
    return {
        "inline_keyboard": [
            [{"text": label, "callback_data": f"d:{label}"} for label in row] for row in rows
        ]
    }


def test_calendar_blank_cells_keep_each_day_under_its_weekday() -> None:
    weekdays = ["M", "T", "W", "T", "F", "S", "S"]
    first_week = [" ", "·", "1", "2", "3", "4", "5"]  # the 1st is a Wednesday; Tuesday closed
    _, printed = _screen_after(
        ApiCall(
            "sendMessage", {"text": "Pick a day.", "reply_markup": _keyboard(weekdays, first_week)}
        )
    )
    header, week = printed.splitlines()[-2:]
    assert week.index("] 1") == header.index("] W")
    assert week.index("·") == header.index("[2] T")


def test_a_typed_time_matches_a_label_with_a_narrow_no_break_space() -> None:
    screen, _ = _screen_after(
        ApiCall("sendMessage", {"text": "Free times", "reply_markup": _keyboard(["9:00\u202fAM"])})
    )
    assert screen.press("9:00 am") == "d:9:00\u202fAM"
    assert screen.press("9:00  AM ") == "d:9:00\u202fAM"
    assert screen.press("10:00 am") is None


def test_a_keyboard_edited_in_place_is_shown_and_pressed() -> None:
    screen, printed = _screen_after(
        ApiCall("sendMessage", {"text": "Reminder", "reply_markup": _keyboard(["✖ Cancel it"])}),
        ApiCall(
            "editMessageReplyMarkup",
            {"message_id": 7, "reply_markup": _keyboard(["Yes, cancel it"], ["No, keep it"])},
        ),
    )
    assert "(buttons changed)" in printed
    assert "[1] Yes, cancel it" in printed and "[2] No, keep it" in printed
    assert screen.press("2") == "d:No, keep it"


def test_ctrl_c_ends_bookbot_chat_at_once_without_a_traceback(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "BOOKBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}",
        "TELEGRAM_BOT_TOKEN": "",
    }
    env.pop("BOOKBOT_CONFIG", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "chat"],
        stdin=subprocess.PIPE,  # left open: the console waits for a line
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        for _ in range(200):  # until the first menu is printed
            if "✖ Cancel" in process.stdout.readline():
                break
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=15)  # a hang fails here
    finally:
        process.kill()
    assert process.returncode == 130
    assert "Traceback" not in stderr, stderr
