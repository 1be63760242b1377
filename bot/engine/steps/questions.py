"""``questions``: the platform's screening (yes/no) and information (text) questions, one at a
time. A screening answer the platform does not accept ends the booking with its own message and
releases any hold."""

from __future__ import annotations

from typing import ClassVar

from bot.engine.flow import ANSWERED, SCREENED_OUT, follow
from bot.engine.state import StoredQuestion
from bot.engine.steps.base import StepHandler, nav_row
from bot.engine.turn import MenuButton, Turn
from bot.engine.validation import InvalidInput, clean_answer
from providers.base import Question, Step


def _stored(question: Question) -> StoredQuestion:
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
        if booking.questions is None:
            questions = await turn.provider.questions(turn.selection())
            booking.questions = [_stored(q) for q in questions]
            booking.answers = {}
        answers = booking.answers or {}
        pending = [q for q in booking.questions if q["id"] not in answers]
        if not pending:
            await follow(turn, ANSWERED)
            return
        question = pending[0]
        text = question["text"] + (f"\n({question['hint']})" if question["hint"] else "")
        rows: list[list[MenuButton]] = []
        if question["kind"] == "screening":
            rows.append([MenuButton(turn.t("Yes"), "b:yes"), MenuButton(turn.t("No"), "b:no")])
        elif not question["required"]:
            rows.append([MenuButton(turn.t("Skip"), "b:skip")])
        rows.append(nav_row(turn))
        turn.show(text, rows)

    def _current(self, turn: Turn) -> StoredQuestion | None:
        booking = turn.booking
        answers = booking.answers or {}
        return next((q for q in booking.questions or [] if q["id"] not in answers), None)

    async def on_action(self, turn: Turn, step: Step, action: str) -> None:
        question = self._current(turn)
        if question is None:
            await self.show(turn, step)
            return
        if question["kind"] == "screening" and action in ("yes", "no"):
            answer = action == "yes"
            if question["want"] is not None and answer != question["want"]:
                message = question["denied"] or turn.t(
                    "Sorry, this appointment cannot be booked online."
                )
                await follow(turn, SCREENED_OUT)
                turn.show(message + "\n\n" + turn.t("Send /book to start again."))
                return
            self._answer(turn, question, action)
        elif action == "skip" and not question["required"]:
            self._answer(turn, question, "")
        await self.show(turn, step)

    async def on_text(self, turn: Turn, step: Step, text: str) -> None:
        question = self._current(turn)
        if question is None or question["kind"] == "screening":
            await super().on_text(turn, step, text)
            return
        try:
            self._answer(turn, question, clean_answer(text, question["max"]))
        except InvalidInput as invalid:
            turn.notice(invalid.message_id, **invalid.kwargs)
        await self.show(turn, step)

    async def on_back(self, turn: Turn, step: Step) -> bool:
        answers = turn.booking.answers
        if answers:
            answers.pop(list(answers)[-1])
            await self.show(turn, step)
            return True
        return False

    async def reset(self, turn: Turn, step: Step) -> None:
        turn.booking.questions = turn.booking.answers = None

    @staticmethod
    def _answer(turn: Turn, question: StoredQuestion, answer: str) -> None:
        booking = turn.booking
        if booking.answers is None:
            booking.answers = {}
        booking.answers[question["id"]] = answer
