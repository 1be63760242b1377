"""How a booking reads to the customer: the confirm screen, the confirmation, /mybookings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.i18n import format_clock, format_day, format_price, gettext


def when(start: datetime, zone: ZoneInfo, language: str) -> str:
    local = start.astimezone(zone)
    return gettext(
        language,
        "{day} at {time}",
        day=format_day(local.date(), language),
        time=format_clock(local, language),
    )


def booking_lines(
    *,
    language: str,
    business: str,
    service: str,
    staff: str | None,
    start: datetime,
    zone: ZoneInfo,
    price: tuple[Decimal, str] | None,
    customer: str | None,
) -> list[str]:

    def t(message: str, **kwargs: object) -> str:
        return gettext(language, message, **kwargs)

    lines = [
        t("Business: {name}", name=business),
        t("Service: {name}", name=service),
    ]
    if staff:
        lines.append(t("With: {name}", name=staff))
    lines.append(t("When: {when}", when=when(start, zone, language)))
    lines.append(t("Time zone: {zone}", zone=str(zone)))
    if price is not None:
        lines.append(t("Price: {price}", price=format_price(price[0], price[1], language)))
    if customer:
        lines.append(t("For: {name}", name=customer))
    return lines
