"""Commands are declared once (bot/commands.py): the menu, /help and the README follow that
declaration, and every declared command has an answer of its own."""

from __future__ import annotations

import re
from pathlib import Path

from bot.app import _post_init
from bot.commands import COMMANDS, menu
from bot.engine.commands import HELP
from bot.services import Services
from storage.models import Admin
from tests.bot.harness import running_bot

README = Path(__file__).resolve().parents[2] / "README.md"


def test_help_lists_the_commands_of_the_menu_in_its_order() -> None:
    assert re.findall(r"^/(\w+) — ", HELP, flags=re.MULTILINE) == [c.name for c in menu()]


def test_the_readme_names_every_declared_command_and_no_other() -> None:
    text = README.read_text(encoding="utf-8")
    paragraph = text[text.index("Commands (declared once") :].split("\n\n", 1)[0]
    named = re.findall(r"`/(\w+)", paragraph)
    assert named == [c.name for c in COMMANDS]


async def test_the_menu_is_the_declared_list(services: Services) -> None:
    async with running_bot(services) as chat:
        await _post_init(chat.application)
        english = next(
            c for c in chat.calls("setMyCommands") if c.params.get("language_code") is None
        )
        assert [(c["command"], c["description"]) for c in english.params["commands"]] == [
            (c.name, c.description) for c in menu()
        ]
    import gc

    gc.unfreeze()  # _post_init froze the start-up heap; the rest of the session collects


async def test_every_declared_command_has_an_answer_of_its_own(services: Services) -> None:
    """An unknown command is said to be unknown, with the help; a declared one (but /help) is
    never answered with the help, for someone it is meant for (an owner may use them all)."""
    async with services.sessions() as session, session.begin():
        session.add(Admin(user_id=42, business_id=None, role="owner"))
    async with running_bot(services) as chat:
        await chat.send("/help")
        help_text = chat.text
        await chat.send("/frobnicate")
        assert chat.text.startswith("I do not know that command. Send /help")
        assert chat.text.endswith(help_text)
        for command in COMMANDS:
            if command.name == "help":
                continue
            await chat.send(f"/{command.name}")
            assert chat.text != help_text, command.name


async def test_a_command_not_meant_for_the_user_gets_the_unknown_command_answer(
    services: Services,
) -> None:
    async with running_bot(services) as chat:
        await chat.send("/frobnicate")
        unknown = chat.text
        for command in COMMANDS:
            if command.audience == "everyone":
                continue
            await chat.send(f"/{command.name}")
            assert chat.text == unknown, command.name
