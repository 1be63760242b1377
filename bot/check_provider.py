"""``bookbot check-provider <business>``: does this business's platform answer, with the
configured credentials, what a booking needs?

Generic for every adapter: it builds the business's adapter as start-up does, lets it prepare
(:meth:`~providers.base.BookingProvider.start`: ClickBook reads its WSDLs and names any mapped
operation they lack), signs in with the configured check credentials where the adapter has any
(:meth:`~providers.base.BookingProvider.check_sign_in`), then reads the catalog once, walking the
booking's ``choose`` steps with the first option of each (services, locations, staff...) down to
the free days and the first day's free times. It prints what it found, or the precise reason it
stopped: a domain error's diagnostic, which never holds a credential.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import date, timedelta

import httpx

from bot.config import AppConfig
from bot.services import build_services
from providers.base import ANY_OPTION, BookingProvider, ProviderError, Selection

#: How many labels of a list are printed.
SHOWN = 12
#: How far ahead the check looks for free days.
DAYS_AHEAD = 30

Print = Callable[[str], None]


async def check_provider(
    config: AppConfig,
    slug: str,
    *,
    env: Mapping[str, str] = os.environ,
    http: httpx.AsyncClient | None = None,
    out: Print = print,
) -> bool:
    """Check business ``slug``; ``True`` when every check passed."""
    business = config.business(slug)
    if business is None:
        known = ", ".join(b.slug for b in config.businesses) or "none"
        out(f"no business {slug!r} in the configuration (known: {known})")
        return False
    only = config.model_copy(update={"businesses": [business]})
    services = await build_services(only, env=env, http=http)
    try:
        provider = services.providers[slug]
        out(f"{slug}: {business.name} [{business.provider}]")
        problems = await provider.start()
        for problem in problems:
            out(f"  problem: {problem}")
        try:
            signed_in = await provider.check_sign_in()
        except ProviderError as refused:
            out(f"  sign-in failed: {_reason(refused)}")
            return False
        if signed_in is not None:
            out(f"  signed in as {signed_in}")
        walked = await _walk(provider, services.clock().astimezone(business.zone).date(), out)
        return walked and not problems
    finally:
        await services.aclose()


async def _walk(provider: BookingProvider, today: date, out: Print) -> bool:
    selection = Selection(user_key="check-provider")
    try:
        steps = await provider.flow(selection)
        out("  steps: " + " → ".join(s.key for s in steps))
        for step in steps:
            if step.kind == "choose":
                options = await provider.options(step.key, selection)
                concrete = [o for o in options if o.id != ANY_OPTION]
                labels = ", ".join(o.label for o in concrete[:SHOWN])
                more = f" (+{len(concrete) - SHOWN} more)" if len(concrete) > SHOWN else ""
                out(f"  {step.key}: {len(concrete)} found: {labels}{more}")
                if not concrete:
                    out(f"  stopped: nothing to choose at {step.key}")
                    return False
                choices = {**selection.choices, step.key: (concrete[0].id,)}
                selection = Selection(choices, selection.language, selection.user_key)
            elif step.kind == "date":
                days = sorted(
                    await provider.available_days(
                        selection, today, today + timedelta(days=DAYS_AHEAD)
                    )
                )
                out(f"  free days in the next {DAYS_AHEAD} days: {len(days)}")
                if not days:
                    return True
                slots = await provider.slots(selection, days[0])
                first = slots[0].start.strftime("%H:%M") if slots else "-"
                out(f"  free times on {days[0].isoformat()}: {len(slots)} (first {first})")
                return True
    except ProviderError as failed:
        out(f"  failed: {_reason(failed)}")
        return False
    return True


def _reason(error: ProviderError) -> str:
    """A domain error's diagnostic (``detail``), or its kind; never a credential."""
    return f"{type(error).__name__}: {error.detail or error.message or 'no detail'}"
