"""The question a choose step asks comes from the adapter's step declaration, also for a
conversation stored before steps carried their question."""

from __future__ import annotations

from bot.services import Services
from providers.base import ASK_RESOURCE, ASK_SERVICE, Step
from tests.bot.harness import running_bot
from tests.bot.test_local_screens import state_of, store_state


def test_a_steps_prompt_survives_the_stored_state() -> None:
    step = Step("choose", "branch", prompt=ASK_RESOURCE)
    assert Step.from_json(step.to_json()) == step
    assert Step.from_json({"kind": "choose", "key": "branch"}).prompt is None


async def test_choose_steps_ask_the_question_the_adapter_declared(services: Services) -> None:
    async with running_bot(services) as chat:
        await chat.send("/book")
        assert chat.text.startswith(ASK_SERVICE)
        await chat.press("Haircut · 30 min · €25.00")
        assert chat.text.startswith(ASK_RESOURCE)
        assert [s.get("prompt") for s in (await state_of(services))["b"]["flow"][:2]] == [
            ASK_SERVICE,
            ASK_RESOURCE,
        ]


async def test_a_conversation_stored_without_prompts_still_asks_the_adapters_question(
    services: Services,
) -> None:
    async with running_bot(services) as chat:
        await chat.send("/book")
        await chat.press("Haircut · 30 min · €25.00")
        state = await state_of(services)
        for stored in state["b"]["flow"]:
            stored.pop("prompt", None)
        await store_state(services, state)
        await chat.press("« Back")
        assert chat.text.startswith(ASK_SERVICE), chat.text
