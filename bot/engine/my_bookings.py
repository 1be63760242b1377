"""``/mybookings``: the user's upcoming appointments, with Cancel and Change (reschedule)."""

from __future__ import annotations

from bot.engine.booking import new_booking
from bot.engine.flow import SIGNED_IN_AGAIN, follow
from bot.engine.state import Choice
from bot.engine.steps.base import show_current
from bot.engine.summary import when
from bot.engine.turn import MenuButton, Turn
from bot.i18n import format_short_moment
from providers.base import AuthFailed, CancelUnconfirmed, NotFound, ProviderError, Selection
from storage import bookings as booking_store
from storage.bookings import BookingView
from storage.fiches import for_user


async def my_bookings(turn: Turn) -> None:
    """The upcoming appointments, each with Cancel (and Change where the platform can)."""
    rows = await booking_store.upcoming(turn.services, turn.event.user_id, turn.now)
    if not rows:
        turn.show(turn.t("You have no upcoming appointments. Send /book to make one."))
        return
    lines, buttons = [], []
    for row in rows:
        slug = turn.services.business_slugs.get(row.business_id)
        if slug is None:
            continue
        business = turn.services.business(slug)
        moment = when(row.start_at, business.zone, turn.language)
        lines.append(f"• {moment} — {row.service_name}, {business.name}")
        short = format_short_moment(row.start_at.astimezone(business.zone), turn.language)
        buttons.append([MenuButton(turn.t("✖ Cancel {when}", when=short), f"m:c:{row.id}")])
        if turn.services.providers[slug].supports_reschedule:
            buttons.append([MenuButton(turn.t("↻ Change {when}", when=short), f"m:r:{row.id}")])
    turn.show(turn.t("Your upcoming appointments:") + "\n\n" + "\n".join(lines), buttons)


async def my_bookings_action(turn: Turn, action: str) -> None:
    """A /mybookings button: cancel (asked, then done) or change an appointment; "No, keep
    it" (``list``, from menus before it lost its id: ``list:0``) lists them again."""
    if action.partition(":")[0] == "list":
        turn.notice("Your appointment is kept.")
        await my_bookings(turn)
        return
    parsed = turn.id_action(action)
    if parsed is None:
        return
    kind, row_id = parsed
    row = await _owned_confirmed(turn, row_id)
    if row is None:
        return
    business = turn.services.business(turn.services.business_slugs[row.business_id])
    if kind == "c":
        turn.show(
            turn.t(
                "Cancel {service} on {when}?",
                service=row.service_name,
                when=when(row.start_at, business.zone, turn.language),
            ),
            [
                [MenuButton(turn.t("Yes, cancel it"), f"m:cc:{row.id}")],
                [MenuButton(turn.t("No, keep it"), "m:list")],
            ],
        )
    elif kind == "cc":
        if await cancel_or_explain(turn, row):
            turn.show(turn.t("Your appointment is cancelled."))
        elif not turn.in_booking:  # not cancelled, and not signing in to cancel it
            await my_bookings(turn)
    elif kind == "r":
        await begin_reschedule(turn, row.id)
    else:
        await my_bookings(turn)


async def _owned_confirmed(turn: Turn, booking_id: int) -> BookingView | None:
    """The user's confirmed booking ``booking_id``; otherwise ``None``, having told the user it
    is gone and listed their bookings again."""
    # Ownership is checked here, on every tap, not just when the list was made.
    row = await booking_store.owned(turn.services, booking_id, turn.event.user_id)
    if row is None or row.status != "confirmed":
        turn.notice("This appointment is not in your bookings any more.")
        await my_bookings(turn)
        return None
    return row


async def cancel_or_explain(turn: Turn, row: BookingView) -> bool:
    """The user's Cancel of ``row`` (/mybookings' "Yes, cancel it", a reminder's): ``True``
    when it is cancelled. Otherwise the user is told why, in a notice: the platform could not
    confirm the cancellation (the booking is kept), or their session with it ended (they are
    asked to sign in, and the cancel follows: :func:`sign_in_first`). Raises any other
    :class:`ProviderError`."""
    try:
        await cancel_booking(turn, row)
    except CancelUnconfirmed:
        turn.notice(
            "We could not confirm the cancellation with the booking system, so your "
            "appointment is still listed. Please try again later or contact the business."
        )
        return False
    except AuthFailed as ended:
        slug = turn.services.business_slugs[row.business_id]
        if not await sign_in_first(turn, slug, f"cc:{row.id}", ended):
            raise
        return False
    return True


async def sign_in_first(turn: Turn, slug: str, then: str, ended: AuthFailed) -> bool:
    """The platform refused the user's session during the /mybookings action ``then``: ask
    them to sign in again with the sign-in step itself (a booking of that step alone, at the
    email prompt: they have an account), which carries ``then`` out once they are signed in
    (:func:`resume_after_sign_in`). ``False`` when ``slug``'s platform has no customer sign-in:
    then the refusal was of the business's own credentials, nothing the user can fix."""
    if not turn.services.providers[slug].supports_sign_in:
        return False
    booking = await new_booking(turn, slug, only_kind="sign_in")
    booking.then, booking.sign_in_stage = then, "email"
    turn.notice(ended.message or "Please sign in again.")
    await show_current(turn)
    return True


async def resume_after_sign_in(turn: Turn) -> None:
    """Signed in again: drop the sign-in booking and carry out what it was started for."""
    then = turn.booking.then or ""
    await follow(turn, SIGNED_IN_AGAIN)
    await my_bookings_action(turn, then)


async def cancel_booking(turn: Turn, row: BookingView) -> None:
    """Cancel the user's booking ``row`` on its platform, then here with its reminders (in the
    turn's transaction). The one booking cancel: /mybookings and the reminders' Cancel.
    Raises what :func:`cancel_on_platform` raises (nothing written then)."""
    await cancel_on_platform(turn, row)
    # Ownership and status are checked again in the writing transaction.
    turn.writes.append(booking_store.cancel(row.id, turn.event.user_id, turn.now))


def booking_selection(turn: Turn, row: BookingView) -> Selection:
    """The booking's choices, as its platform is asked about it (on behalf of its customer)."""
    return Selection(
        choices={k: tuple(v) for k, v in (row.selection or {}).items()},
        language=turn.language,
        user_key=f"tg:{row.user_id}",
    )


async def cancel_on_platform(turn: Turn, row: BookingView) -> None:
    """Cancel ``row`` on its platform: the customer's cancel and the business's alike.

    Raises the platform's :class:`ProviderError` when it refuses, and
    :class:`CancelUnconfirmed` when it answered "not found" but no lookup showed the
    appointment gone: "not found" from a guessed path or an ignored session leaves the
    appointment booked, so only a lookup showing it gone makes our mirror agree."""
    provider = turn.services.providers[turn.services.business_slugs[row.business_id]]
    selection = booking_selection(turn, row)
    try:
        await provider.cancel(row.provider_ref, selection)
    except NotFound:
        if await _still_booked(turn, row, selection) is not False:
            raise CancelUnconfirmed(detail="cancel answered not found; not shown gone") from None


async def _still_booked(turn: Turn, row: BookingView, selection: Selection) -> bool | None:
    """The platform's lookup of ``row`` (``None``: no lookup, or it failed)."""
    provider = turn.services.providers[turn.services.business_slugs[row.business_id]]
    customer_ref = None
    if row.fiche_id is not None:
        fiches = await for_user(turn.services, row.user_id, row.business_id)
        customer_ref = next((f.provider_ref for f in fiches if f.id == row.fiche_id), None)
    try:
        return await provider.still_booked(row.provider_ref, selection, customer_ref)
    except ProviderError:
        return None


async def begin_reschedule(turn: Turn, booking_id: int) -> None:
    """Walk the user to the date step to move their booking ``booking_id``."""
    row = await _owned_confirmed(turn, booking_id)
    if row is None:
        return
    slug = turn.services.business_slugs[row.business_id]
    if not turn.services.providers[slug].supports_reschedule:
        turn.show(
            turn.t("This appointment cannot be changed online. You can cancel it and book again.")
        )
        return
    turn.notice("Pick the new day for your appointment.")
    booking = await new_booking(
        turn, slug, skip_kinds=("customer", "questions", "sign_in"), first_kind="date"
    )
    for key, ids in (row.selection or {}).items():
        label = row.service_name if key == "service" else (row.resource_name or "")
        booking.choices[key] = Choice(ids=list(ids), labels=[label] * len(ids), auto=True)
    first, last = [*row.customer_name.split(" ", 1), ""][:2]
    booking.rescheduling, booking.rescheduling_ref = row.id, row.provider_ref
    booking.customer = {"first_name": first, "last_name": last}
    booking.fiche, booking.label = row.fiche_id, ""
    await show_current(turn)
