"""Keep ClicRDV credentials out of the HTTP libraries' own logs.

ClicRDV wants the API key in the query string and the hashed password in the login URL, and
answers the login with a ``_session_id`` cookie. httpx logs every request URL at INFO (logger
``httpx``), and httpcore/hpack log headers at DEBUG, so without help the key, the password hash
and the session cookie would land in any log that is turned up. :func:`install` puts a filter on
those loggers (:mod:`providers.log_scrub`) that rewrites such values to ``[redacted]`` before
any handler sees the record.
"""

from __future__ import annotations

import re

from providers.log_scrub import ScrubbingFilter, attach

REDACTED = "[redacted]"

#: Loggers of the HTTP stack that may print URLs or headers.
HTTP_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "hpack",
    "hpack.hpack",
    "hpack.table",
)

_PATTERNS = (
    # apikey=..., account[password]=... (raw or URL-encoded brackets) in URLs
    re.compile(r"(?i)(apikey=)[^&\s'\"\]>)]+"),
    re.compile(r"(?i)(account(?:\[|%5B)password(?:\]|%5D)=)[^&\s'\"\]>)]+"),
    # _session_id=... in Cookie / Set-Cookie headers (str or bytes reprs)
    re.compile(r"(_session_id=)[^;\s'\"\]>)]+"),
    # Basic credentials in an Authorization header
    re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/=]{8,}"),
)


def scrub(text: str) -> str:
    """``text`` with credential-looking values replaced by ``[redacted]``."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class RedactingFilter(ScrubbingFilter):
    """Rewrites a record that carries a credential; never drops a record."""

    def __init__(self) -> None:
        super().__init__(scrub)


_FILTER = RedactingFilter()


def install() -> None:
    """Attach the filter to the HTTP stack's loggers (idempotent)."""
    attach(_FILTER, HTTP_LOGGERS)
