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
