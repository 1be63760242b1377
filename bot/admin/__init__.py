"""What business admins and owners do in the chat, as features of the conversation engine
(:mod:`bot.engine.features`): their commands and menus reach the engine as events through
``Engine.handle``, with its server-side button tokens and conversation state.

- :mod:`.rights`: who may administer which business (the ``admins`` table, synchronised from
  the configuration's ``owners`` and each business's ``admins``), checked on every action;
- :mod:`.guard`: the role each command needs, and the refusal (the unknown-command answer);
- :mod:`.access`: ``/grant``, ``/revoke``, ``/block``, ``/unblock``, ``/audit`` (owners);
- :mod:`.notice_buttons`: Call and Mute on the booking notices (:mod:`bot.delivery.notices`);
- :mod:`.schedule`: ``/today``, ``/tomorrow``, ``/week``, ``/bookings <date>`` (staff: their own);
- :mod:`.calendar`: a booking opened from the schedule: cancel (the customer is told), no-show;
- :mod:`.closures`: ``/close``, ``/reopen``: days off and blocked ranges of a local calendar;
- :mod:`.phoned`: ``/enter``, a booking for a customer who phoned, claimed by a deep link;
- :mod:`.export`: ``/export [period]``, a CSV file and an .ics feed per business;
- :mod:`.stats`, :mod:`.health`: ``/stats [period]``, ``/health``;
- :mod:`.menus`: each user's command menu, following their roles;
- :mod:`.people`: naming a user (id, @username, forwarded message);
- :mod:`.composer`: ``/broadcast`` (choose the business, write the message, choose the
  audience, preview, send) and ``/broadcast_cancel``;
- :mod:`.state`: the composer's keys in the conversation state;
- :mod:`.texts`: their message ids.

Sending is the delivery engine's (:mod:`bot.delivery.broadcasts`).
"""

from bot.admin.access import AccessControl
from bot.admin.calendar import CalendarActions
from bot.admin.closures import Closures
from bot.admin.composer import BroadcastComposer
from bot.admin.export import Export
from bot.admin.health import Health
from bot.admin.notice_buttons import NoticeButtons
from bot.admin.phoned import PhonedIn
from bot.admin.schedule import ScheduleViews
from bot.admin.stats import Stats

__all__ = [
    "AccessControl",
    "BroadcastComposer",
    "CalendarActions",
    "Closures",
    "Export",
    "Health",
    "NoticeButtons",
    "PhonedIn",
    "ScheduleViews",
    "Stats",
]
