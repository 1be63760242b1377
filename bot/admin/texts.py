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

# -- roles, blocking, audit (bot/admin/access.py) -----------------------------------------
GRANT_USAGE = (
    "Send /grant <user> <business> [admin|staff <staff name>]. The user is their id, their "
    "@username (once they have started the bot), or forward me one of their messages after "
    "/grant <business> [role]."
)
REVOKE_USAGE = "Send /revoke <user> <business>."
BLOCK_USAGE = "Send /block <user> or /unblock <user>: their id or @username."
ASK_FORWARD = "Forward me a message from the user (or send their id or @username)."
UNKNOWN_USER = "I do not know this user. They must start the bot first, or send their id."
NO_FORWARD_ID = (
    "Telegram does not say who wrote this message (their privacy settings). Send their id instead."
)
UNKNOWN_BUSINESS = "There is no business {business}."
UNKNOWN_STAFF = "There is no staff member {staff} at {business}."
BAD_ROLE = "The role is admin or staff."
GRANTED = "{user} is now {role} of {business}."
GRANTED_STAFF = "{user} is now staff of {business}, with the schedule of {staff}."
REVOKED = "{user} no longer has a role at {business}."
NOTHING_TO_REVOKE = "{user} has no role at {business} that can be revoked."
FROM_CONFIG = "{user}'s role at {business} comes from the configuration; change it there."
BLOCKED = "{user} is blocked: the bot ignores them."
NOT_BLOCKABLE = "An owner cannot be blocked."
UNBLOCKED = "{user} is no longer blocked."
NOT_BLOCKED = "{user} was not blocked."
AUDIT_EMPTY = "No admin action recorded yet."
AUDIT_HEADER = "Admin actions, newest first:"
BUTTON_OLDER = "Older ›"
BUTTON_NEWER = "‹ Newer"

# -- the buttons of booking notices (bot/admin/notice_buttons.py) ------------------------
CALL_CUSTOMER = "Call {customer}: {phone}"
MUTED = "You will no longer get this kind of notice for this business. /notices turns it on again."
NOTICES_TITLE = "Booking notices you get. Tap to turn on or off."
NOTICES_ON = "{business}: {kind} — on"
NOTICES_OFF = "{business}: {kind} — off"
KIND_CONFIRMED = "new bookings"
KIND_MOVED = "moved bookings"
KIND_CANCELLED = "cancellations"

# -- schedule views (bot/admin/schedule.py) -----------------------------------------------
SCHEDULE_NONE = "You have no business's schedule to see."
SCHEDULE_PICK_BUSINESS = "Which business's schedule?"
BOOKINGS_USAGE = "Send /bookings YYYY-MM-DD, for example /bookings 2026-12-24."
SCHEDULE_TITLE = "{business}, {span}:"
SCHEDULE_TITLE_STAFF = "{business}, {span}, {staff}'s schedule:"
SCHEDULE_EMPTY = "No appointments."
BUTTON_PREVIOUS = "‹ Previous"
BUTTON_NEXT = "Next ›"

# -- /export (bot/admin/export.py) --------------------------------------------------------
EXPORT_USAGE = "Send /export, or /export YYYY-MM-DD YYYY-MM-DD for a period."
EXPORT_DONE = "Bookings from {first} to {last}: a CSV file and a calendar (.ics) per business."

# -- managing bookings (bot/admin/calendar.py) --------------------------------------------
BOOKING_DETAIL = "{service} with {staff}\n{day} at {time}\nCustomer: {customer}\nStatus: {status}"
STATUS_CONFIRMED = "confirmed"
STATUS_CANCELLED = "cancelled"
STATUS_NO_SHOW = "no-show"
STATUSES = {"confirmed": STATUS_CONFIRMED, "cancelled": STATUS_CANCELLED, "no_show": STATUS_NO_SHOW}
BUTTON_CANCEL_BOOKING = "✖ Cancel this booking"
BUTTON_NO_SHOW = "🚫 No-show"
BUTTON_BACK = "« Back"
CANCEL_BOOKING_ASK = "Cancel the booking of {customer}? They will be told."
BUTTON_CANCEL_BOOKING_YES = "Yes, cancel it and tell the customer"
CANCEL_BOOKING_DONE = "The booking of {customer} is cancelled; they will be told."
CANCEL_BOOKING_UNCONFIRMED = (
    "The booking system did not confirm the cancellation, so the booking is kept. Please "
    "check it on the booking system."
)
MOVE_HINT = "To move it: /move {number} YYYY-MM-DD HH:MM"
MOVE_USAGE = (
    "Send /move <number> <YYYY-MM-DD> <HH:MM>: the booking's number is shown when you open it "
    "from /today or /week."
)
MOVE_NOT_ACTIVE = "This booking is no longer active."
MOVE_NOT_SUPPORTED = "This booking platform cannot move a booking: cancel it and enter a new one."
MOVE_DONE = "The booking of {customer} is moved to {day} at {time}; they will be told."
MOVED_BY_BUSINESS = (
    "{business} moved your appointment: {service} is now on {day} at {time}. To change it, "
    "send /mybookings."
)
NO_SHOW_DONE = "{customer} is marked as a no-show."
CANCELLED_BY_BUSINESS = (
    "{business} had to cancel your appointment: {service}, {day} at {time}. Send /book to "
    "choose another time."
)

# -- closures (bot/admin/closures.py) -----------------------------------------------------
CLOSE_USAGE = (
    "Send /close [business] <staff|all> <YYYY-MM-DD> [YYYY-MM-DD] [HH:MM-HH:MM] [reason], "
    "for example /close all 2026-12-24 2026-12-26 Christmas, or /close anna 2026-12-03 "
    "14:00-16:00. /reopen <number> opens a closure again."
)
CLOSE_NOT_LOCAL = (
    "The calendar of {business} is kept on its booking platform: close days there, and the bot "
    "will offer no time then."
)
CLOSED = "{business}: {count} closure(s) added."
CLOSED_BOOKINGS_KEPT = (
    "{count} booking(s) already in that time are kept: open them from /today or /week to "
    "cancel them."
)
NOT_CLOSED = "Nothing is closed."
REOPEN_USAGE = "Send /reopen <number>, the number shown by /close."
REOPENED = "Closure #{number} removed: those times can be booked again."
NO_SUCH_CLOSURE = "There is no closure #{number} at your businesses."

# -- phoned-in bookings (bot/admin/phoned.py) ---------------------------------------------
ENTER_USAGE = (
    "Send /enter [business] <service> <staff> <YYYY-MM-DD> <HH:MM> <phone> <name>, for "
    "example /enter cut anna 2026-12-03 10:00 +33612345678 Anna Martin (service and staff by "
    "their keys in the configuration)."
)
ENTER_NOT_LOCAL = (
    "The calendar of {business} is kept on its booking platform: enter the booking there."
)
ENTER_NOT_FREE = "That time is not free (or outside the hours). Pick another in /today or /week."
ENTERED = (
    "Booked for {customer}: {service} with {staff}, {day} at {time}. Give the customer this "
    "link to follow it in Telegram: {link}"
)
CLAIM_UNKNOWN = "This link is not valid any more: the booking was claimed or cancelled."
CLAIMED = "Your booking at {business} is now yours here: see it in /mybookings."

# -- /health (bot/admin/health.py) --------------------------------------------------------
HEALTH_NOT_CONFIGURED = "Not in the configuration any more."
HEALTH_PLATFORM_OK = "Platform: answers ({ms} ms)"
HEALTH_PLATFORM_DOWN = "Platform: NOT answering ({error})"
HEALTH_OUTBOX = "Outbox: {depth} waiting, the oldest for {minutes} min"
HEALTH_OUTBOX_EMPTY = "Outbox: empty"
HEALTH_LAST_ERROR = "Last delivery error: {error}"

# -- /stats (bot/admin/stats.py) ----------------------------------------------------------
STATS_USAGE = "Send /stats, or /stats YYYY-MM-DD YYYY-MM-DD for a period."
STATS_HEADER = "From {first} to {last}:"
STATS_MADE = "Bookings made"
STATS_CANCELLED = "of which cancelled"
STATS_NO_SHOW = "of which no-shows"
STATS_REMINDERS = "Reminders sent"
STATS_NOTICES = "Booking notices sent"
STATS_KEPT = "booked"
STATS_CANCELLED_SHORT = "cancelled later"
STATS_IN_PROGRESS = "Bookings in progress now, by step: {steps}"
#: one figure of the /stats table ("Bookings made: 2"; French puts a space before the colon)
STATS_LINE = "{label}: {value}"
STATS_FUNNEL = (
    "Booking funnel (counted since this version of the bot: conversations before it are not "
    "in it). Each step: how many reached it, their share of the previous step, and how many "
    "stopped there (gave up, or are still on it):"
)
STATS_FUNNEL_EMPTY = (
    "Booking funnel: no booking started in this period (counted since this version of the "
    "bot: conversations before it are not in it)."
)
STATS_FUNNEL_STARTED = "Bookings started: {count}"
STATS_FUNNEL_STEP = "{step}: {count} reached, {share} of the previous step, {stopped} stopped here"
STATS_FUNNEL_BOOKED = "Booked: {count}, {share} of the previous step"
# the funnel's steps, by step key (bot/admin/stats.py STEP_NAMES)
STEP_SERVICE = "Service choice"
STEP_SERVICE_GROUP = "Service group choice"
STEP_CATEGORY = "Category choice"
STEP_LOCATION = "Location choice"
STEP_BRANCH = "Branch choice"
STEP_STAFF = "Staff choice"
STEP_RESOURCE = "Resource choice"
STEP_CALENDAR = "Calendar choice"
STEP_PROVIDER = "Practitioner choice"
STEP_PARTY_SIZE = "Party size"
STEP_DATE = "Date choice"
STEP_SLOT = "Time choice"
STEP_SIGN_IN = "Sign-in"
STEP_QUESTIONS = "Questions answered"
STEP_CUSTOMER = "Details"
STEP_CONFIRM = "Review and confirm"

MSGIDS: tuple[str, ...] = tuple(
    value for name, value in dict(globals()).items() if name.isupper() and isinstance(value, str)
)
