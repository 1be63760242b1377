"""``questions``: the platform's screening (yes/no) and information (text) questions, one at a
time. A screening answer the platform does not accept ends the booking with its own message and
releases any hold."""

from __future__ import annotations

from typing import Any, ClassVar

from bot.engine.steps.base import StepHandler, advance, nav_row
from bot.engine.steps.slot import release_hold
from bot.engine.turn import MenuButton, Turn
from bot.engine.validation import InvalidInput, clean_answer
from providers.base import Question, Step


def _stored(question: Question) -> dict[str, Any]:
    return {
        "id": question.id,
        "text": question.text,
        "kind": question.kind,
        "required": question.required,
        "want": question.required_answer,
        "denied": question.denied_message,
        "hint": question.clarification,
        "max": question.max_length,
    }


class QuestionsStep(StepHandler):
    kind: ClassVar[str] = "questions"

    async def show(self, turn: Turn, step: Step) -> None:
        booking = turn.booking
        if "qs" not in booking:
            booking["qs"] = [_stored(q) for q in await turn.provider.questions(turn.selection())]
            booking["ans"] = {}
        pending = [q for q in booking["qs"] if q["id"] not in booking["ans"]]
        if not pending:
            await advance(turn)
            return
        question = pending[0]
        text = question["text"] + (f"\n({question['hint']})" if question.get("hint") else "")
        rows: list[list[MenuButton]] = []
        if question["kind"] == "screening":
            rows.append([MenuButton(turn.t("Yes"), "b:yes"), MenuButton(turn.t("No"), "b:no")])
        elif not question["required"]:
            rows.append([MenuButton(turn.t("Skip"), "b:skip")])
        rows.append(nav_row(turn))
        turn.show(text, rows)

    def _current(self, turn: Turn) -> dict[str, Any] | None:
        booking = turn.booking
        return next((q for q in booking.get("qs", []) if q["id"] not in booking["ans"]), None)

    async def on_action(self, turn: Turn, step: Step, action: str) -> None:
        question = self._current(turn)
        if question is None:
            await self.show(turn, step)
            return
        if question["kind"] == "screening" and action in ("yes", "no"):
            answer = action == "yes"
            if question["want"] is not None and answer != question["want"]:
                await release_hold(turn)
                message = question["denied"] or turn.t(
                    "Sorry, this appointment cannot be booked online."
                )
                turn.data.pop("b", None)
                turn.show(message + "\n\n" + turn.t("Send /book to start again."))
                return
            turn.booking["ans"][question["id"]] = action
        elif action == "skip" and not question["required"]:
            turn.booking["ans"][question["id"]] = ""
        await self.show(turn, step)

    async def on_text(self, turn: Turn, step: Step, text: str) -> None:
        question = self._current(turn)
        if question is None or question["kind"] == "screening":
            await super().on_text(turn, step, text)
            return
        try:
            turn.booking["ans"][question["id"]] = clean_answer(text, question["max"])
        except InvalidInput as invalid:
            turn.notice(invalid.message_id, **invalid.kwargs)
        await self.show(turn, step)

    async def on_back(self, turn: Turn, step: Step) -> bool:
        answers = turn.booking.get("ans", {})
        if answers:
            answers.pop(list(answers)[-1])
            await self.show(turn, step)
            return True
        return False

    async def reset(self, turn: Turn, step: Step) -> None:
        turn.booking.pop("qs", None)
        turn.booking.pop("ans", None)
