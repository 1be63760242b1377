"""Message ids of the admin features (English; :data:`MSGIDS` keeps the catalogs complete)."""

from __future__ import annotations

NOT_ADMIN = "Only a business admin can do this."
BROADCAST_PICK_BUSINESS = "Which business is this broadcast for?"
BROADCAST_ASK_TEXT = "Send me the message to broadcast to the customers of {business}."
BROADCAST_ASK_AUDIENCE = "Who should receive it?"
BUTTON_AUDIENCE_ALL = "All customers"
BUTTON_AUDIENCE_RANGE = "Customers with a booking in a date range"
BROADCAST_ASK_RANGE = "Send the date range as two dates: YYYY-MM-DD YYYY-MM-DD"
BROADCAST_BAD_RANGE = "I could not read that range. Example: 2026-12-01 2026-12-31"
BUTTON_SEND = "Send"
BUTTON_DISCARD = "Discard"
BROADCAST_EMPTY = "No customer matches this audience; nothing to send."
BROADCAST_DISCARDED = "Broadcast discarded."
BROADCAST_CANCELLED = "Broadcast cancelled: {sent} of {total} had been sent."
BROADCAST_NOTHING_TO_CANCEL = "You have no broadcast in progress."
BROADCAST_STALE = "This broadcast can no longer be changed."

MSGIDS: tuple[str, ...] = tuple(
    value for name, value in dict(globals()).items() if name.isupper() and isinstance(value, str)
)
