"""The floor's bot: a stock python-telegram-bot ``ConversationHandler`` bot for the sample salon,
with no persistence and nothing of bookbot's (``bench/ptb_floor.py`` drives it).

The flow is declared as python-telegram-bot's examples declare one (``FloorBot.handlers``):
``/book`` · service (inline keyboard) · staff when the service has several · day (a month
view) · time (twelve a page) · first name · last name · phone (shared contact or typed) · email
· Confirm; then ``/mybookings`` · Cancel · Yes, cancel it. Its texts and keyboards are those
bookbot shows for the same steps, so both send the same Bot API calls of about the same size.
"""

from __future__ import annotations

import calendar
import itertools
import warnings
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

Context = ContextTypes.DEFAULT_TYPE
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None
#: The month the floor's calendar shows (bench/updates.py's bot clock starts on 2027-03-01).
FIRST_DAY = date(2027, 3, 1)
SLOTS_PER_PAGE = 12
#: Conversation states; the booking's, then /mybookings'.
SERVICE, STAFF, DAY, TIME, FIRST_NAME, LAST_NAME, PHONE, EMAIL, CONFIRM = range(9)
LISTED, CANCELLING = range(9, 11)


@dataclass(frozen=True)
class Service:
    key: str
    name: str
    minutes: int
    price: str
    staff: tuple[str, ...]
    description: str = ""


#: The sample salon's catalog (bot/sample_config.toml), so the driver meets the same choices.
SERVICES = {
    s.key: s
    for s in (
        Service("cut", "Haircut", 30, "25.00", ("Anna", "Marc")),
        Service(
            "colour", "Colour", 90, "70.00", ("Anna",), "Full colour, including wash and blow-dry"
        ),
        Service("beard", "Beard trim", 15, "12.00", ("Marc",)),
    )
}
GRID = [f"{h:02d}:{m:02d}" for h in range(9, 18) for m in (0, 15, 30, 45)]


@dataclass
class Draft:
    """What one user has chosen so far (kept in ``context.user_data``)."""

    service: Service | None = None
    staff: str | None = None
    day: date | None = None
    page: int = 0
    slot: tuple[str, str] | None = None  # (HH:MM, person)
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    email: str = ""


@dataclass
class Appointment:
    user_id: int
    service: Service
    day: date
    slot: tuple[str, str]
    customer: str


def _button(label: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=data)


def _nav(back: bool = True) -> list[InlineKeyboardButton]:
    cancel = _button("✖ Cancel", "abandon")
    return [_button("« Back", "back"), cancel] if back else [cancel]


def _month_menu() -> InlineKeyboardMarkup:
    noop = "noop"
    rows = [[_button(" ", noop), _button(FIRST_DAY.strftime("%B %Y"), noop), _button("›", noop)]]
    rows.append([_button(letter, noop) for letter in "MTWTFSS"])
    for week in calendar.Calendar().monthdatescalendar(FIRST_DAY.year, FIRST_DAY.month):
        rows.append(
            [
                _button(str(d.day), f"day:{d.isoformat()}")
                if d.month == FIRST_DAY.month
                else _button(" ", noop)
                for d in week
            ]
        )
    return InlineKeyboardMarkup([*rows, _nav()])


# The keyboards that never change are built once, as a careful bot keeps them: building the
# month view's 49 frozen buttons costs about as much as its to_dict for the request.
SERVICE_TEXT = "Which service would you like?\n\n" + "\n".join(
    f"• {s.name}: {s.description}" for s in SERVICES.values() if s.description
)
SERVICE_MENU = InlineKeyboardMarkup(
    [
        [_button(f"{s.name} · {s.minutes} min · €{s.price}", f"svc:{s.key}")]
        for s in SERVICES.values()
    ]
    + [_nav(back=False)]
)
STAFF_MENUS = {
    s.key: InlineKeyboardMarkup(
        [[_button("No preference", "staff:")]]
        + [[_button(person, f"staff:{person}")] for person in s.staff]
        + [_nav()]
    )
    for s in SERVICES.values()
    if len(s.staff) > 1
}
MONTH_MENU = _month_menu()
NAV_MENU = InlineKeyboardMarkup([_nav()])
CONFIRM_MENU = InlineKeyboardMarkup([[_button("✅ Confirm", "confirm")], _nav()])
SHARE_PHONE = ReplyKeyboardMarkup(
    [[KeyboardButton("📱 Share my phone number", request_contact=True)]],
    resize_keyboard=True,
    one_time_keyboard=True,
)
NO_KEYBOARD = ReplyKeyboardRemove()


def _clock(hhmm: str) -> str:
    hour, minute = int(hhmm[:2]), hhmm[3:]
    return f"{hour % 12 or 12}:{minute} {'AM' if hour < 12 else 'PM'}"


def _day(day: date) -> str:
    return f"{day.strftime('%A, %B')} {day.day}, {day.year}"


def _when(day: date, slot: tuple[str, str]) -> str:
    return f"{_day(day)} at {_clock(slot[0])}"


def _tapped(update: Update, prefix: str) -> str:
    """The tapped button's data after ``prefix`` (its handler's pattern)."""
    assert update.callback_query is not None and update.callback_query.data is not None
    return update.callback_query.data.removeprefix(prefix)


def _draft(context: Context) -> Draft:
    assert context.user_data is not None
    draft = context.user_data.setdefault("draft", Draft())
    assert isinstance(draft, Draft)
    return draft


@dataclass
class FloorBot:
    """The handlers and the in-memory salon; counts what it confirmed and cancelled."""

    taken: set[tuple[str, date, str]] = field(default_factory=set)
    appointments: dict[int, Appointment] = field(default_factory=dict)
    confirmed: int = 0
    cancelled: int = 0
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    async def _say(self, update: Update, context: Context, text: str, markup: Markup) -> None:
        """Edit the tapped message (after answering the tap), or send a new one."""
        query = update.callback_query
        if query is not None:
            await query.answer()
            inline = markup if isinstance(markup, InlineKeyboardMarkup) else None
            await query.edit_message_text(text, reply_markup=inline)
            return
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)

    async def _end(self, update: Update, context: Context, text: str) -> int:
        """The last message of a conversation, without a keyboard."""
        await self._say(update, context, text, None)
        return ConversationHandler.END

    # -- the booking ---------------------------------------------------------------------
    async def book(self, update: Update, context: Context) -> int:
        assert context.user_data is not None
        context.user_data["draft"] = Draft()
        await self._say(update, context, SERVICE_TEXT, SERVICE_MENU)
        return SERVICE

    async def choose_service(self, update: Update, context: Context) -> int:
        draft = _draft(context)
        draft.service = SERVICES[_tapped(update, "svc:")]
        if len(draft.service.staff) == 1:
            draft.staff = draft.service.staff[0]
            return await self._month(update, context)
        markup = STAFF_MENUS[draft.service.key]
        await self._say(update, context, "Who would you like to see?", markup)
        return STAFF

    async def choose_staff(self, update: Update, context: Context) -> int:
        _draft(context).staff = _tapped(update, "staff:") or None
        return await self._month(update, context)

    async def _month(self, update: Update, context: Context) -> int:
        text = "Pick a day. Days without a number are fully booked or closed."
        await self._say(update, context, text, MONTH_MENU)
        return DAY

    async def choose_day(self, update: Update, context: Context) -> int:
        draft = _draft(context)
        draft.day, draft.page = date.fromisoformat(_tapped(update, "day:")), 0
        return await self._slots(update, context)

    async def later(self, update: Update, context: Context) -> int:
        _draft(context).page += 1
        return await self._slots(update, context)

    async def _slots(self, update: Update, context: Context) -> int:
        draft = _draft(context)
        assert draft.service is not None and draft.day is not None
        people = (draft.staff,) if draft.staff else draft.service.staff
        free = [
            (hhmm, person)
            for hhmm in GRID
            for person in people
            if (person, draft.day, hhmm) not in self.taken
        ]
        first = draft.page * SLOTS_PER_PAGE
        page = free[first : first + SLOTS_PER_PAGE]
        buttons = [_button(f"{_clock(t)} {p}", f"time:{t}:{p}") for t, p in page]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        if len(free) > first + SLOTS_PER_PAGE:
            rows.append([_button("Later ›", "later")])
        text = f"Free times on {_day(draft.day)}:"
        await self._say(update, context, text, InlineKeyboardMarkup([*rows, _nav()]))
        return TIME

    async def choose_time(self, update: Update, context: Context) -> int:
        hhmm, person = _tapped(update, "time:").rsplit(":", 1)
        _draft(context).slot = (hhmm, person)
        text = "Please type the first name of the person the appointment is for."
        await self._say(update, context, text, NAV_MENU)
        return FIRST_NAME

    async def first_name(self, update: Update, context: Context) -> int:
        assert update.message is not None and update.message.text is not None
        _draft(context).first_name = update.message.text.strip()
        await self._say(update, context, "Please type their last name.", NAV_MENU)
        return LAST_NAME

    async def last_name(self, update: Update, context: Context) -> int:
        assert update.message is not None and update.message.text is not None
        _draft(context).last_name = update.message.text.strip()
        text = "Tap the button below to share your phone number, or type it."
        await self._say(update, context, text, SHARE_PHONE)
        text = (
            "Please share your phone number with the button below, or type it with the "
            "country code (+33 6 12 34 56 78)."
        )
        await self._say(update, context, text, NAV_MENU)
        return PHONE

    async def phone(self, update: Update, context: Context) -> int:
        assert update.message is not None
        contact = update.message.contact
        _draft(context).phone = contact.phone_number if contact else update.message.text or ""
        await self._say(update, context, "Thank you.", NO_KEYBOARD)
        text = "Please type an email address for the confirmation."
        await self._say(update, context, text, NAV_MENU)
        return EMAIL

    async def email(self, update: Update, context: Context) -> int:
        assert update.message is not None and update.message.text is not None
        draft = _draft(context)
        if "@" not in update.message.text:
            await self._say(update, context, "That is not an email address.", None)
            return EMAIL
        draft.email = update.message.text.strip()
        text = "Please check your booking:\n\n" + self._summary(draft)
        await self._say(update, context, text, CONFIRM_MENU)
        return CONFIRM

    @staticmethod
    def _summary(draft: Draft) -> str:
        assert draft.service and draft.day and draft.slot
        return (
            f"Business: Salon Belle Rue\nService: {draft.service.name}\nWith: {draft.slot[1]}\n"
            f"When: {_when(draft.day, draft.slot)}\nTime zone: Europe/Paris\n"
            f"Price: €{draft.service.price}\nFor: {draft.first_name} {draft.last_name}"
        )

    async def confirm(self, update: Update, context: Context) -> int:
        draft = _draft(context)
        assert draft.service and draft.day and draft.slot and update.effective_user
        key = (draft.slot[1], draft.day, draft.slot[0])
        if key in self.taken:
            return await self._end(update, context, "Sorry, that time was just taken.")
        self.taken.add(key)
        customer = f"{draft.first_name} {draft.last_name}"
        appointment = Appointment(
            update.effective_user.id, draft.service, draft.day, draft.slot, customer
        )
        self.appointments[next(self._ids)] = appointment
        self.confirmed += 1
        text = (
            f"✅ Booked! See you soon.\n\n{self._summary(draft)}\n\n"
            "To cancel or change it, send /mybookings."
        )
        return await self._end(update, context, text)

    async def abandon(self, update: Update, context: Context) -> int:
        return await self._end(update, context, "Booking cancelled. Send /book to start again.")

    # -- /mybookings ---------------------------------------------------------------------
    async def my_bookings(self, update: Update, context: Context) -> int:
        assert update.effective_user is not None
        mine = [
            (i, a) for i, a in self.appointments.items() if a.user_id == update.effective_user.id
        ]
        if not mine:
            return await self._end(update, context, "You have no upcoming appointments.")
        lines = [f"• {_when(a.day, a.slot)} — {a.service.name}, Salon Belle Rue" for _, a in mine]
        rows = [[_button(f"✖ Cancel {a.day:%d/%m} {a.slot[0]}", f"cancel:{i}")] for i, a in mine]
        text = "Your upcoming appointments:\n\n" + "\n".join(lines)
        await self._say(update, context, text, InlineKeyboardMarkup(rows))
        return LISTED

    async def ask_cancel(self, update: Update, context: Context) -> int:
        number = int(_tapped(update, "cancel:"))
        a = self.appointments[number]
        rows = [[_button("Yes, cancel it", f"yes:{number}")], [_button("No, keep it", "keep")]]
        text = f"Cancel {a.service.name} on {_when(a.day, a.slot)}?"
        await self._say(update, context, text, InlineKeyboardMarkup(rows))
        return CANCELLING

    async def cancel_it(self, update: Update, context: Context) -> int:
        a = self.appointments.pop(int(_tapped(update, "yes:")))
        self.taken.discard((a.slot[1], a.day, a.slot[0]))
        self.cancelled += 1
        return await self._end(update, context, "Your appointment is cancelled.")

    async def keep(self, update: Update, context: Context) -> int:
        return await self._end(update, context, "Your appointment is kept.")

    async def noop(self, update: Update, context: Context) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer()

    def handlers(self) -> list[ConversationHandler[Context]]:
        """The booking and /mybookings, as python-telegram-bot's examples declare a flow."""
        text = filters.TEXT & ~filters.COMMAND

        def tap(callback: Any, pattern: str) -> CallbackQueryHandler[Context, Any]:
            return CallbackQueryHandler(callback, pattern=pattern)

        booking_states: dict[object, list[Any]] = {
            SERVICE: [tap(self.choose_service, "^svc:")],
            STAFF: [tap(self.choose_staff, "^staff:")],
            DAY: [tap(self.choose_day, "^day:"), tap(self.noop, "^noop$")],
            TIME: [tap(self.choose_time, "^time:"), tap(self.later, "^later$")],
            FIRST_NAME: [MessageHandler(text, self.first_name)],
            LAST_NAME: [MessageHandler(text, self.last_name)],
            PHONE: [MessageHandler(filters.CONTACT | text, self.phone)],
            EMAIL: [MessageHandler(text, self.email)],
            CONFIRM: [tap(self.confirm, "^confirm$")],
        }
        # Every state takes a tap or a text, never both from one message's buttons: the
        # per_message=False warning about CallbackQueryHandler does not apply here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PTBUserWarning)
            booking = ConversationHandler(
                entry_points=[CommandHandler("book", self.book)],
                states=booking_states,
                fallbacks=[tap(self.abandon, "^abandon$"), tap(self.book, "^back$")],
                allow_reentry=True,
            )
            mine = ConversationHandler(
                entry_points=[CommandHandler("mybookings", self.my_bookings)],
                states={
                    LISTED: [tap(self.ask_cancel, "^cancel:")],
                    CANCELLING: [tap(self.cancel_it, "^yes:"), tap(self.keep, "^keep$")],
                },
                fallbacks=[],
                allow_reentry=True,
            )
        return [booking, mine]


def build_floor(token: str, api: BaseRequest) -> tuple[Application, FloorBot]:  # type: ignore[type-arg]
    """A stock Application on ``api``: no rate limiter, no JobQueue, no persistence."""
    application = (
        ApplicationBuilder()
        .token(token)
        .request(api)
        .get_updates_request(api)
        .job_queue(None)
        .build()
    )
    floor = FloorBot()
    application.add_handlers(floor.handlers())
    return application, floor
