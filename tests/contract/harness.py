"""What the shared provider contract suite needs from each adapter under test.

Every module in ``tests/contract/targets/`` defines ``target()``, an async context manager that
yields a :class:`ContractTarget`: the adapter wired to its fake platform, plus the knobs the suite
turns (failure injection, a customer the platform accepts, one it refuses). The suite in
``test_contract.py`` then runs the same cases against every target.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date, timedelta

from providers.base import (
    ANY_OPTION,
    BookingProvider,
    CustomerDetails,
    Question,
    Selection,
    Slot,
)

FailureMode = str  # "unavailable" (HTTP 503) or "timeout"


@dataclass
class ContractTarget:
    name: str
    provider: BookingProvider
    customer: CustomerDetails
    #: details the platform refuses with InvalidCustomerData (None: the adapter validates nothing)
    invalid_customer: CustomerDetails | None = None
    #: make the next ``count`` platform requests fail (None: the target cannot fail, e.g. local)
    fail_next: Callable[[FailureMode, int], None] | None = None
    #: anything the user must do before booking (sign in...); returns the updated selection
    prepare: Callable[[Selection], Awaitable[Selection]] | None = None
    today: Callable[[], date] = date.today
    user_key: str = "tg:1001"
    extra: Mapping[str, object] = field(default_factory=dict)


TargetFactory = Callable[[], AbstractAsyncContextManager[ContractTarget]]


def discover_targets() -> dict[str, TargetFactory]:
    """Every ``target`` factory under ``tests/contract/targets``, by module name."""
    from tests.contract import targets

    found: dict[str, TargetFactory] = {}
    for info in pkgutil.iter_modules(targets.__path__):
        module = importlib.import_module(f"{targets.__name__}.{info.name}")
        factory = getattr(module, "target", None)
        if factory is not None:
            found[info.name] = factory
    return found


@dataclass
class Walk:
    """Where walking a flow by always taking the first option got to."""

    selection: Selection
    day: date
    slots: list[Slot]
    answers: dict[str, str]


def answer_for(question: Question) -> str:
    if question.kind == "screening":
        return "yes" if question.required_answer in (None, True) else "no"
    return "Contract test answer"


async def walk_to_slots(target: ContractTarget, horizon_days: int = 45) -> Walk:
    """Walk the provider's flow taking the first concrete option at each ``choose`` step, up to
    the slots of the first available day."""
    provider = target.provider
    selection = Selection(choices={}, language="en", user_key=target.user_key)
    if target.prepare is not None:
        selection = await target.prepare(selection)
    steps = await provider.flow(selection)
    day: date | None = None
    for step in steps:
        if step.kind == "choose":
            options = await provider.options(step.key, selection)
            assert options, f"{target.name}: no options at step {step.key}"
            concrete = [o for o in options if o.id != ANY_OPTION] or list(options)
            choices = dict(selection.choices)
            choices[step.key] = (concrete[0].id,)
            selection = Selection(choices, selection.language, selection.user_key)
        elif step.kind == "date":
            first = target.today()
            days = await provider.available_days(
                selection, first, first + timedelta(days=horizon_days)
            )
            assert days, f"{target.name}: no available day in {horizon_days} days"
            day = min(days)
        elif step.kind == "slot":
            break
    assert day is not None, f"{target.name}: the flow has no date step before the slot step"
    slots = list(await provider.slots(selection, day))
    answers = {q.id: answer_for(q) for q in await provider.questions(selection)}
    return Walk(selection=selection, day=day, slots=slots, answers=answers)


async def run_target(factory: TargetFactory) -> AsyncIterator[ContractTarget]:
    async with factory() as target:
        yield target
