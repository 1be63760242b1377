"""One handler per step kind; :data:`HANDLERS` maps a kind to it."""

from __future__ import annotations

from bot.engine.steps.base import StepHandler
from bot.engine.steps.choose import ChooseStep
from bot.engine.steps.confirm import ConfirmStep
from bot.engine.steps.customer import CustomerStep
from bot.engine.steps.date import DateStep
from bot.engine.steps.questions import QuestionsStep
from bot.engine.steps.sign_in import SignInStep
from bot.engine.steps.slot import SlotStep

HANDLERS: dict[str, StepHandler] = {
    handler.kind: handler
    for handler in (
        ChooseStep(),
        DateStep(),
        SlotStep(),
        SignInStep(),
        CustomerStep(),
        QuestionsStep(),
        ConfirmStep(),
    )
}

__all__ = ["HANDLERS", "StepHandler"]
