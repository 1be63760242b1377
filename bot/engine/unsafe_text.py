"""Characters no text we keep may hold, refused where a user typed them and removed where they
came with the user's Telegram profile.

- NUL and the other control characters (tab, newline and carriage return aside): PostgreSQL
  cannot store NUL at all, in a text or a JSON column, and the others garble logs and exports.
- Lone surrogates (a forged update's ``"\\ud800"``): no database driver can encode them.
- The bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) and marks
  (U+200E, U+200F, U+061C): they make a stored name or address read differently from what it
  holds ("Anna" followed by an override shows the rest reversed).
- Invisible characters with no use in the text we keep: zero-width space U+200B, word joiner
  and invisible operators U+2060-U+2064, the byte order mark U+FEFF, the soft hyphen U+00AD,
  the Mongolian vowel separator U+180E, the line and paragraph separators U+2028/U+2029 and the
  interlinear annotation marks U+FFF9-U+FFFB.

The zero-width non-joiner and joiner (U+200C, U+200D) are kept: Persian and Indic names are
written with them, and emoji sequences (a family, a flag) are joined by them. The fields that
must not hold them (an email address, a phone number) refuse them in their own checks.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b\u200e\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb\ud800-\udfff]"
)


def unsafe_character(text: str) -> str | None:
    """The first character of ``text`` we never store, as ``U+XXXX``; ``None`` when none."""
    found = _UNSAFE.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def without_unsafe(text: str) -> str:
    """``text`` without the characters we never store (for text we cannot refuse, such as the
    name on a user's Telegram profile)."""
    return _UNSAFE.sub("", text)


__all__ = ["unsafe_character", "without_unsafe"]
