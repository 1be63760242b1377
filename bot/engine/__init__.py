"""The conversation engine: walks the steps a provider declares, for every channel.

Entry point: :class:`Engine` (``await engine.handle(event) -> Reply``).
"""

from bot.engine.engine import Engine
from bot.engine.types import Button, Event, Reply, Screen

__all__ = ["Button", "Engine", "Event", "Reply", "Screen"]
