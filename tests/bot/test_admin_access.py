"""Roles on the server: /grant, /revoke, /block, /unblock and /audit for owners; everyone else
gets the unknown-command answer; every change is audited (append-only) and sets the user's
command menu for their chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from telegram import Update

from bot.services import Services
from storage.admin_models import AuditEntry, BlockedUser
from storage.models import Admin, Business, User
from tests.bot.harness import ChatDriver, running_bot

OWNER, ADMIN, STAFF, CUSTOMER, OTHER_ADMIN = 1, 50, 60, 70, 80


@pytest.fixture
async def world(services: Services) -> AsyncIterator[dict[str, int]]:
    """The sample salon, a second business, an owner, an admin of each, a staff member, and a
    customer known by @username."""
    salon = services.business_ids["sample-salon"]
    async with services.sessions() as s, s.begin():
        other = Business(slug="barber", name="Barber", provider_kind="local", timezone="UTC")
        s.add(other)
        await s.flush()
        s.add_all(
            [
                Admin(user_id=OWNER, business_id=None, role="owner"),
                Admin(user_id=ADMIN, business_id=salon, role="admin"),
                Admin(user_id=OTHER_ADMIN, business_id=other.id, role="admin", granted_by=OWNER),
                Admin(
                    user_id=STAFF,
                    business_id=salon,
                    role="staff",
                    staff_name="Anna",
                    granted_by=OWNER,
                ),
                User(id=CUSTOMER, first_name="Cleo", username="cleo_c"),
            ]
        )
    yield {"salon": salon, "barber": other.id}


async def roles(services: Services, user_id: int) -> list[tuple[Any, ...]]:
    async with services.sessions() as s:
        rows = await s.execute(
            select(Admin.business_id, Admin.role, Admin.staff_name, Admin.granted_by)
            .where(Admin.user_id == user_id)
            .order_by(Admin.business_id)
        )
        return [tuple(r) for r in rows]


async def audit_rows(services: Services) -> list[tuple[Any, ...]]:
    async with services.sessions() as s:
        rows = await s.execute(
            select(
                AuditEntry.actor_id, AuditEntry.action, AuditEntry.business_id, AuditEntry.detail
            ).order_by(AuditEntry.id)
        )
        return [tuple(r) for r in rows]


def menus(chat: ChatDriver) -> dict[int, list[str]]:
    """The per-chat command menus set, by chat id (the latest of each)."""
    found: dict[int, list[str]] = {}
    for call in chat.calls("setMyCommands"):
        scope = call.params.get("scope")
        if isinstance(scope, dict) and scope.get("type") == "chat":
            found[int(scope["chat_id"])] = [c["command"] for c in call.params["commands"]]
    return found


async def test_an_owner_grants_by_id_username_and_forwarded_message(
    services: Services, world: dict[str, int]
) -> None:
    async with running_bot(services, user_id=OWNER) as owner:
        await owner.send("/grant @cleo_c sample-salon")
        assert owner.text == "70 is now admin of Salon Belle Rue."
        assert "broadcast" in menus(owner)[CUSTOMER]
        assert "grant" not in menus(owner)[CUSTOMER]

        await owner.send("/grant 71 sample-salon staff Marc")
        assert owner.text == "71 is now staff of Salon Belle Rue, with the schedule of Marc."
        assert "broadcast" not in menus(owner)[71]

        await owner.send("/grant barber")
        assert owner.text.startswith("Forward me a message from the user")
        forward = Update.de_json(
            {
                "update_id": 9000,
                "message": {
                    "message_id": 9000,
                    "date": 0,
                    "chat": {"id": OWNER, "type": "private"},
                    "from": {"id": OWNER, "is_bot": False, "first_name": "O"},
                    "text": "hello, it's me",
                    "forward_origin": {
                        "type": "user",
                        "date": 0,
                        "sender_user": {"id": 72, "is_bot": False, "first_name": "F"},
                    },
                },
            },
            owner.application.bot,
        )
        await owner.application.process_update(forward)
        assert owner.text == "72 is now admin of Barber."
    assert await roles(services, CUSTOMER) == [(world["salon"], "admin", None, OWNER)]
    assert await roles(services, 71) == [(world["salon"], "staff", "Marc", OWNER)]
    assert await roles(services, 72) == [(world["barber"], "admin", None, OWNER)]
    assert [(a, act, b) for a, act, b, _ in await audit_rows(services)] == [
        (OWNER, "grant", world["salon"]),
        (OWNER, "grant", world["salon"]),
        (OWNER, "grant", world["barber"]),
    ]


async def test_a_forward_without_its_author_keeps_the_owner_at_the_step(
    services: Services, world: dict[str, int]
) -> None:
    async with running_bot(services, user_id=OWNER) as owner:
        await owner.send("/grant barber")
        await owner.send("a message whose author hides")  # no forward_origin user
        assert owner.text.startswith("Telegram does not say who wrote this message")
        await owner.send("73")
        assert owner.text == "73 is now admin of Barber."


async def test_bad_grants_say_what_is_wrong_and_change_nothing(
    services: Services, world: dict[str, int]
) -> None:
    async with running_bot(services, user_id=OWNER) as owner:
        await owner.send("/grant @nobody_here sample-salon")
        assert owner.text.startswith("I do not know this user")
        await owner.send("/grant 90 nowhere")
        assert owner.text == "There is no business nowhere."
        await owner.send("/grant 90 sample-salon staff Zoé")
        assert owner.text == "There is no staff member Zoé at Salon Belle Rue."
        await owner.send("/grant 90 sample-salon owner")
        assert owner.text.startswith("The role is admin or staff.")
        await owner.send(f"/grant {ADMIN} sample-salon staff Anna")
        assert owner.text.startswith("50's role at Salon Belle Rue comes from the configuration")
    assert await roles(services, 90) == []
    assert await roles(services, ADMIN) == [(world["salon"], "admin", None, None)]
    assert await audit_rows(services) == []


async def test_revoke_takes_a_granted_role_away_and_the_menu_with_it(
    services: Services, world: dict[str, int]
) -> None:
    async with running_bot(services, user_id=OWNER) as owner:
        await owner.send(f"/revoke {STAFF} sample-salon")
        assert owner.text == "60 no longer has a role at Salon Belle Rue."
        assert "today" not in menus(owner)[STAFF] and "book" in menus(owner)[STAFF]
        await owner.send(f"/revoke {STAFF} sample-salon")
        assert owner.text == "60 has no role at Salon Belle Rue that can be revoked."
        await owner.send(f"/revoke {ADMIN} sample-salon")
        assert "comes from the configuration" in owner.text
    assert await roles(services, STAFF) == []
    assert [act for _, act, _, _ in await audit_rows(services)] == ["revoke"]


@pytest.mark.parametrize("who", [ADMIN, OTHER_ADMIN, STAFF, CUSTOMER])
async def test_owner_commands_are_unknown_commands_for_everyone_else(
    services: Services, world: dict[str, int], who: int
) -> None:
    async with running_bot(services, user_id=who) as chat:
        await chat.send("/frobnicate")
        unknown = chat.text
        for command in (
            f"/grant {who} sample-salon",
            f"/revoke {ADMIN} sample-salon",
            f"/block {CUSTOMER}",
            f"/unblock {CUSTOMER}",
            "/audit",
        ):
            await chat.send(command)
            assert chat.text == unknown, command
        # the step a forwarded message would complete is never entered either
        await chat.send("/grant barber")
        await chat.send(str(who))
        assert chat.text != f"{who} is now admin of Barber."
    barber_roles = [r for r in await roles(services, who) if r[0] == world["barber"]]
    assert barber_roles == ([(world["barber"], "admin", None, OWNER)] if who == OTHER_ADMIN else [])
    assert await audit_rows(services) == []
    async with services.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(BlockedUser)) == 0


async def test_staff_and_plain_users_cannot_broadcast(
    services: Services, world: dict[str, int]
) -> None:
    for who in (STAFF, CUSTOMER, OTHER_ADMIN):
        async with running_bot(services, user_id=who) as chat:
            await chat.send("/frobnicate")
            unknown = chat.text
            await chat.send("/broadcast")
            if who == OTHER_ADMIN:  # an admin, of another business: only that one is offered
                assert "Barber" in chat.text
            else:
                assert chat.text == unknown
                await chat.send("/broadcast_cancel")
                assert chat.text == unknown


async def test_a_blocked_user_is_ignored_until_unblocked(
    services: Services, world: dict[str, int]
) -> None:
    async with running_bot(services, user_id=CUSTOMER) as customer:
        await customer.send("/book")  # a conversation in progress when the block comes
    async with running_bot(services, user_id=OWNER) as owner:
        await owner.send("/block @cleo_c")
        assert owner.text == "70 is blocked: the bot ignores them."
        await owner.send(f"/block {OWNER}")
        assert owner.text == "An owner cannot be blocked."
    async with running_bot(services, user_id=CUSTOMER) as customer:
        await customer.send("/book")
        await customer.send("/help")
        await customer.tap("c1.0")
        assert customer.api.sent() == []
        assert [c.method for c in customer.api.calls if c.method != "getMe"] == [
            "answerCallbackQuery"
        ]
    async with running_bot(services, user_id=OWNER) as owner:
        await owner.send("/unblock 70")
        assert owner.text == "70 is no longer blocked."
    async with running_bot(services, user_id=CUSTOMER) as customer:
        await customer.send("/help")
        assert customer.text.startswith("I book appointments for you.")
    assert [(act, d) for _, act, _, d in await audit_rows(services)] == [
        ("block", {"user": CUSTOMER}),
        ("unblock", {"user": CUSTOMER}),
    ]


async def test_audit_lists_actions_newest_first_in_pages(
    services: Services, world: dict[str, int]
) -> None:
    async with running_bot(services, user_id=OWNER) as owner:
        for user in range(100, 112):
            await owner.send(f"/grant {user} barber")
        await owner.send("/audit")
        page = owner.text.splitlines()
        assert page[0] == "Admin actions, newest first:"
        assert len(page) == 11 and "/grant · Barber · role=admin user=111" in page[1]
        assert owner.labels == ["Older ›"]
        await owner.press("Older ›")
        assert "user=101" in owner.text and "user=111" not in owner.text
        assert owner.labels == ["‹ Newer"]
        # forged data naming an audit action is not a token: it changes nothing
        before = len(await audit_rows(services))
        await owner.tap("r:audit:0")
        assert len(await audit_rows(services)) == before


async def test_a_replayed_admin_token_changes_nothing(
    services: Services, world: dict[str, int]
) -> None:
    async with running_bot(services, user_id=OWNER) as owner:
        for user in range(100, 112):
            await owner.send(f"/grant {user} barber")
        await owner.send("/audit")
        older = owner.data_of("Older ›")
        await owner.tap(older)
        before = len(await audit_rows(services))
        await owner.tap(older)  # the menu moved on: the old token is stale
        alerts = [c.params.get("text") for c in owner.calls("answerCallbackQuery")]
        assert alerts[-1] == "This menu has expired."
        assert len(await audit_rows(services)) == before


async def test_the_audit_log_is_append_only_in_the_database(
    services: Services, world: dict[str, int]
) -> None:
    async with running_bot(services, user_id=OWNER) as owner:
        await owner.send("/grant 90 barber")
    for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with services.sessions() as s, s.begin():
                await s.execute(text(statement))
    assert len(await audit_rows(services)) == 1


async def test_start_up_sets_each_role_holders_menu(
    services: Services, world: dict[str, int]
) -> None:
    from bot.app import _post_init

    async with running_bot(services, user_id=OWNER) as chat:
        await _post_init(chat.application)
        set_menus = menus(chat)
    import gc

    gc.unfreeze()
    assert "grant" in set_menus[OWNER] and "audit" in set_menus[OWNER]
    assert "broadcast" in set_menus[ADMIN] and "grant" not in set_menus[ADMIN]
    assert "broadcast" not in set_menus[STAFF] and "book" in set_menus[STAFF]
    assert CUSTOMER not in set_menus
