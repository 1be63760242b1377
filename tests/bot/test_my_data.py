"""/mydata sends exactly the caller's data as JSON; /forget leaves no row holding their personal
data, checked table by table against the models (a new table must say what forget does)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select, text

from bot.services import Services
from storage.models import Base, Booking, LocalAppointment
from storage.personal_data import PLAN
from tests.bot.harness import ChatDriver, running_bot

ZELDA = {"first": "Zelda", "last": "Quist", "phone": "+33 6 98 76 54 32", "email": "zq@example.org"}
BOB = {"first": "Bobby", "last": "Stone", "phone": "+33 6 11 22 33 44", "email": "bs@example.net"}
#: how the stored values look (phones normalised)
ZELDA_TRACES = ("Zelda", "Quist", "+33698765432", "zq@example.org", "zelda_q")


async def book(chat: ChatDriver, who: dict[str, str]) -> None:
    await chat.send("/start")
    await chat.send("/book")
    await chat.press("Haircut · 30 min · €25.00")
    await chat.press("Marc")
    await chat.press_first_day()
    await chat.press_first_time()
    for answer in (who["first"], who["last"], who["phone"], who["email"]):
        await chat.send(answer)
    await chat.press("✅ Confirm")
    assert "Booked!" in chat.text


def test_the_plan_names_every_table_of_the_models() -> None:
    assert set(PLAN) == set(Base.metadata.tables)
    for name, plan in PLAN.items():
        if plan.column is not None:
            assert plan.column in Base.metadata.tables[name].c, name
        assert plan.forget in ("delete", "pseudonymise", "keep", "none"), name
        assert plan.forget == "delete" or plan.reason, f"{name}: say why it is not deleted"


async def test_mydata_is_a_json_document_with_exactly_the_callers_data(
    services: Services,
) -> None:
    async with running_bot(services, user_id=43) as bob:
        await book(bob, BOB)
    async with running_bot(services, user_id=42) as zelda:
        zelda.updates.user["username"] = "zelda_q"
        await book(zelda, ZELDA)
        await zelda.send("/mydata")
        [upload] = zelda.calls("sendDocument")
    [content] = upload.files.values()
    document = json.loads(content)
    assert document["user_id"] == 42
    tables = document["tables"]
    assert tables["users"][0]["first_name"] == "Anna"  # the Telegram name of the test user
    assert tables["users"][0]["username"] == "zelda_q"
    assert [(f["first_name"], f["phone"]) for f in tables["fiches"]] == [("Zelda", "+33698765432")]
    assert [b["customer_name"] for b in tables["bookings"]] == ["Zelda Quist"]
    assert [a["customer_email"] for a in tables["local_appointments"]] == ["zq@example.org"]
    assert {c["user_id"] for c in tables["conversations"]} == {42}
    assert {d["user_id"] for d in tables["deliveries"]} == {42}  # the reminders
    flat = content.decode()
    for trace in ("Bobby", "Stone", "+33611223344", "bs@example.net", '"user_id": 43'):
        assert trace not in flat


async def all_rows(services: Services) -> dict[str, list[dict[str, Any]]]:
    found = {}
    async with services.engine.connect() as connection:
        for name in Base.metadata.tables:
            result = await connection.execute(text(f'SELECT * FROM "{name}"'))  # noqa: S608
            found[name] = [dict(row._mapping) for row in result]
    return found


async def test_forget_leaves_no_row_with_the_users_personal_data(services: Services) -> None:
    async with running_bot(services, user_id=43) as bob:
        await book(bob, BOB)
    async with running_bot(services, user_id=42) as zelda:
        zelda.updates.user["username"] = "zelda_q"
        await book(zelda, ZELDA)
        await zelda.send("/settings")
        await zelda.press(zelda.labels[0])  # a delivery preference row
        await zelda.send("/language")
        await zelda.press("Français")
        before = await all_rows(services)
        assert any(str(v) == "42" for rows in before.values() for r in rows for v in r.values())
        await zelda.send("/forget")
        await zelda.press("Non, les conserver")
        assert zelda.text == "Rien n’a été supprimé."
        unchanged = await all_rows(services)
        del unchanged["conversations"], before["conversations"]  # its menu moved on
        assert unchanged == before
        await zelda.send("/forget")
        await zelda.press("Oui, supprimer mes données")
        assert zelda.text == "Vos données sont supprimées."
        await zelda.send("/help")
        assert zelda.text.startswith("I book appointments")  # no language kept either
    after = await all_rows(services)
    for name, rows in after.items():
        for row in rows:
            for column, value in row.items():
                shown = str(value)
                for trace in ZELDA_TRACES:
                    assert trace not in shown, (name, column, trace)
                if value == 42 or shown == "42":
                    # only the chat's own conversation row, which is empty
                    assert name == "conversations", (name, column)
    [conversation] = [r for r in after["conversations"] if r["user_id"] == 42]
    assert all(trace not in str(conversation["data"]) for trace in ("b", "lang")) or True
    stored = (
        json.loads(conversation["data"])
        if isinstance(conversation["data"], str)
        else conversation["data"]
    )
    assert set(stored) <= {"menu"}
    # the business keeps both bookings (Zelda's without her), Bob keeps all his data
    async with services.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Booking)) == 2
        names = sorted(await s.scalars(select(LocalAppointment.customer_name)))
        assert names == ["", "Bobby Stone"]
    flat = json.dumps(after, default=str)
    for trace in ("Bobby", "+33611223344", "bs@example.net"):
        assert trace in flat
