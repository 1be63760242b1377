"""Keep secrets out of other libraries' log records: one :class:`logging.Filter` for every scrub.

A library (httpx, python-telegram-bot) logs what it sends, URLs and headers included, so a
credential in a URL would land in any log that is turned up. :class:`ScrubbingFilter` rewrites a
record's message and traceback through a scrub function (each caller knows its own secrets) before
any handler sees it. Filters on a logger only apply to records created on that very logger (not
its children), hence :func:`attach` takes the explicit list of logger names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

_FORMATTER = logging.Formatter()


class ScrubbingFilter(logging.Filter):
    """Rewrites a record (message and traceback) that ``scrub`` changes; never drops a record."""

    def __init__(self, scrub: Callable[[str], str]) -> None:
        super().__init__()
        self._scrub = scrub

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the logging module's problem, not ours
            return True
        cleaned = self._scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = self._scrub(_FORMATTER.formatException(record.exc_info))
        return True


def attach(log_filter: logging.Filter, logger_names: Iterable[str]) -> None:
    """Attach ``log_filter`` to each named logger (idempotent)."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if log_filter not in logger.filters:
            logger.addFilter(log_filter)
