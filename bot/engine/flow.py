"""The state machine in one place: which events move a conversation from one state to another.

A provider declares the order of the steps (``BookingProvider.flow``); this table says what
every step kind does with the user's input, whatever the order. ``docs/conversation.md`` holds
the Mermaid diagram generated from it (``python -m bot.engine.flow > docs/conversation.md``);
a test keeps the two in step.
"""

from __future__ import annotations

#: (from, event, to). "next" is the following step in the provider's flow, "back" the previous
#: one the user answered. Every step has Cancel, and Back when the user answered an earlier step
#: (listed once, under "any step"): steps settled without asking (one option, a reschedule's
#: service and staff) are skipped on the way back and never lead back.
TRANSITIONS: list[tuple[str, str, str]] = [
    ("idle", "/book, /start [business]", "business"),
    ("business", "one business, or one tapped", "first step"),
    ("first step", "provider's flow", "choose"),
    ("choose", "option tapped (or only one option)", "next"),
    ("choose", "several picks + Continue (max_picks > 1)", "next"),
    ("date", "day with free time tapped, or Earliest available", "slot"),
    ("date", "‹ › month", "date"),
    ("slot", "time tapped (hold taken when the platform holds)", "next"),
    ("slot", "no free time left that day", "date"),
    ("sign_in", "email + password accepted (password message deleted)", "next"),
    ("sign_in", "wrong password", "sign_in"),
    ("questions", "all answered", "next"),
    ("questions", "screening answer refused", "idle"),
    ("customer", "stored fiche picked, or every field typed and valid", "next"),
    ("customer", "invalid field", "customer"),
    ("confirm", "Confirm: platform booked", "booked"),
    ("confirm", "slot taken / hold expired", "slot"),
    ("confirm", "platform refused a field", "customer"),
    ("confirm", "platform refused a rule", "date"),
    ("confirm", "session lost", "sign_in"),
    ("confirm", "platform unavailable (Retry)", "confirm"),
    ("booked", "reminders scheduled", "idle"),
    ("any step", "Back (shown only after a step the user answered)", "back"),
    ("any step", "Cancel, /cancel (hold released)", "idle"),
    ("any step", "idle timeout (hold released by the sweep)", "idle"),
    ("any step", "stale or forged button", "any step"),
    ("idle", "/mybookings → Cancel → Yes", "idle"),
    ("idle", "/mybookings → Change", "date"),
]


def _node(name: str) -> str:
    return name.replace(" ", "_")


def mermaid() -> str:
    lines = ["stateDiagram-v2", "    [*] --> idle"]
    for source, event, target in TRANSITIONS:
        lines.append(f"    {_node(source)} --> {_node(target)}: {event.replace(':', ' -')}")
    return "\n".join(lines) + "\n"


def document() -> str:
    return (
        "# The booking conversation\n\n"
        "Generated from `bot/engine/flow.py` by `python -m bot.engine.flow > docs/conversation.md`."
        " Each provider declares the order of its steps; every step kind behaves as below.\n\n"
        "```mermaid\n" + mermaid() + "```\n"
    )


if __name__ == "__main__":
    print(document(), end="")
