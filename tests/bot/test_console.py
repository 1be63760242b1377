"""`bookbot chat` in a subprocess, scripted through stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
