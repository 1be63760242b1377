"""What each operation of the fake ClickBook does: ``(world, parameters, user) -> answer``.

Answers are plain dicts and lists that ``app.element`` writes as the ``<OPERATION>Return`` part
(the shapes of the WSDL fixtures). RESULT codes: 200 done, 301 stub processed (KNOWN), 401 not
signed in, 404 unknown, 409 timeslot taken, 422 field errors, 423 already exists (GUESSES, as
in ``providers/clickbook/mapping.py``).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.fakes.clickbook.state import API_KEY, COUNTRIES, TIMEZONES, Account, World

FMT = "%Y-%m-%dT%H:%M:%S"


def result(code: int, message: str = "", info: str = "", errors: dict[str, str] | None = None):
    answer: dict[str, Any] = {"CODE": code, "MESSAGE": message, "INFO": info}
    if errors:
        answer["ERRORS"] = {"FIELDERROR": [{"FIELD": k, "MESSAGE": v} for k, v in errors.items()]}
    return answer


def providers(world: World, p: dict[str, Any], user: Account | None) -> Any:
    text = (p.get("SEARCHTEXT") or "").lower()
    found = [{"PROVIDERID": k, "NAME": v} for k, v in world.providers.items() if text in v.lower()]
    return {"PROVIDER": found}


def locations(world: World, p: dict[str, Any], user: Account | None) -> Any:
    if p.get("PROVIDERID") not in world.providers:
        return {"LOCATION": []}
    return {
        "LOCATION": [
            {"LOCATIONID": k, "NAME": v, "TIMEZONE": "Europe/Paris"}
            for k, v in world.locations.items()
        ]
    }


def services(world: World, p: dict[str, Any], user: Account | None) -> Any:
    if p.get("LOCATIONID") not in world.locations:
        return {"SERVICE": []}
    return {
        "SERVICE": [
            {"SERVICEID": k, "NAME": n, "DURATION": m, "PRICE": price, "CURRENCY": "EUR"}
            for k, (n, m, price) in world.services.items()
        ]
    }


def staff(world: World, p: dict[str, Any], user: Account | None) -> Any:
    if p.get("SERVICEID") not in world.services:
        return {"STAFF": []}
    return {"STAFF": [{"STAFFID": k, "NAME": v} for k, v in world.staff.items()]}


def timeslots(world: World, p: dict[str, Any], user: Account | None) -> Any:
    try:
        first = date.fromisoformat(p.get("STARTDATE") or "")
        last = date.fromisoformat(p.get("ENDDATE") or "")
    except ValueError:
        return {"TIMESLOT": []}
    last = min(last, first + timedelta(days=92))
    found = world.free_slots(p.get("SERVICEID") or "", p.get("STAFFID") or "", first, last)
    return {
        "TIMESLOT": [
            {
                "TIMESLOTID": slot_id,
                "START": start.strftime(FMT),
                "END": end.strftime(FMT),
                "STAFFID": sid,
                "STAFFNAME": world.staff[sid],
            }
            for slot_id, sid, start, end in found
        ]
    }


def timezones(world: World, p: dict[str, Any], user: Account | None) -> Any:
    return {"TIMEZONE": [{"VALUE": v, "LABEL": label} for v, label in TIMEZONES]}


def countries(world: World, p: dict[str, Any], user: Account | None) -> Any:
    return {"COUNTRY": [{"VALUE": v, "LABEL": label} for v, label in COUNTRIES]}


def set_user_fields(world: World, p: dict[str, Any], user: Account | None) -> Any:
    values: dict[str, str] = p.get("FIELDS") or {}
    group = p.get("GROUPNAME")
    if group == "NewUserRegistration" and user is None:
        errors = world.registration_errors(values)
        if errors:
            return result(422, "Please correct the highlighted fields", errors=errors)
        email = values["inp-emailaddress1"].lower()
        pending = {s.get("inp-emailaddress1", "").lower() for s in world.stubs.values()}
        if email in world.accounts or email in pending:
            return result(423, "An account with this email address already exists")
        stub = world.next_id("STUB")
        world.stubs[stub] = dict(values)
        return result(200, "", info=stub)
    if group == "NewClientFile" and user is not None:
        if user.user_type not in ("Staff", "Authority"):
            return result(401, "Only a service provider can create client files")
        errors = world.client_file_errors(values)
        if errors:
            return result(422, "Please correct the highlighted fields", errors=errors)
        email = values.get("inp-newemailaddress1", "").lower()
        if email and any(f["email"] == email for f in world.client_files.values()):
            return result(423, "A client file with this email address already exists")
        file_id = world.next_id("CF")
        world.client_files[file_id] = {
            "first": values.get("inp-firstname", ""),
            "last": values.get("inp-lastname", ""),
            "email": email,
            "tel": values.get("inp-telfixed", ""),
            "owner": user.email,
        }
        return result(200, "", info=file_id)
    return result(422, f"Unknown schema {group}")


def process_stub(world: World, p: dict[str, Any], user: Account | None) -> Any:
    values = world.stubs.pop(p.get("STUBID") or "", None)
    if values is None:
        return result(404, "Unknown registration")
    world.add_account(
        values["inp-emailaddress1"],
        values["inp-password1"],
        first_name=values.get("inp-firstname", ""),
        last_name=values.get("inp-lastname", ""),
        phone=values.get("inp-telfixed", ""),
    )
    return result(301, "Registration complete")


def user_info(world: World, p: dict[str, Any], user: Account | None) -> Any:
    assert user is not None
    return {
        "USERTYPE": user.user_type,
        "FIRSTNAME": user.first_name,
        "LASTNAME": user.last_name,
        "EMAIL": user.email,
        "TELFIXED": user.phone,
    }


def client_files(world: World, p: dict[str, Any], user: Account | None) -> Any:
    assert user is not None
    text = (p.get("SEARCHTEXT") or "").lower()
    if user.user_type not in ("Staff", "Authority"):
        return {"CLIENTFILE": []}
    return {
        "CLIENTFILE": [
            {
                "CLIENTFILEID": k,
                "FIRSTNAME": f["first"],
                "LASTNAME": f["last"],
                "EMAIL": f["email"],
                "TELFIXED": f["tel"],
            }
            for k, f in world.client_files.items()
            if text in f["email"] or text in f"{f['first']} {f['last']}".lower()
        ]
    }


def book(world: World, p: dict[str, Any], user: Account | None) -> Any:
    assert user is not None
    context = p.get("CONTEXTID") or ""
    if context:
        if p.get("CONTEXTFORM") != "ClientFile" or context not in world.client_files:
            return result(404, "Unknown client file")
        if user.user_type not in ("Staff", "Authority"):
            return result(401, "Only a service provider can book for a client")
    made = world.book(p.get("TIMESLOTID") or "", p.get("SERVICEID") or "", user.email, context)
    if made == 404:
        return result(404, "Unknown timeslot")
    if made == 409:
        return result(409, "This timeslot is no longer available")
    assert not isinstance(made, int)
    return result(200, "Booked", info=made.id)


def bookings(world: World, p: dict[str, Any], user: Account | None) -> Any:
    """The user's bookings; with a CONTEXTID (a ClientFile), those in that client file only
    (our reading: GETBOOKINGS takes the context elements BOOKTIMESLOT takes; its answer is an
    array, so a context the user cannot see has no bookings, as GETCLIENTFILES has no files)."""
    assert user is not None
    context = p.get("CONTEXTID") or ""
    if context and (
        p.get("CONTEXTFORM") != "ClientFile"
        or context not in world.client_files
        or user.user_type not in ("Staff", "Authority")
    ):
        return {"BOOKING": []}
    first = date.fromisoformat(p.get("STARTDATE") or "1970-01-01")
    last = date.fromisoformat(p.get("ENDDATE") or "2999-12-31")
    return {
        "BOOKING": [
            {
                "BOOKINGID": b.id,
                "TIMESLOTID": b.timeslot_id,
                "START": b.start.strftime(FMT),
                "END": b.end.strftime(FMT),
                "SERVICEID": b.service_id,
                "SERVICENAME": world.services[b.service_id][0],
                "STAFFNAME": world.staff[b.staff_id],
                "CONTEXTID": b.context_id,
            }
            for b in world.live_bookings()
            if b.email == user.email
            and first <= b.start.date() <= last
            and (not context or b.context_id == context)
        ]
    }


def cancel(world: World, p: dict[str, Any], user: Account | None) -> Any:
    assert user is not None
    found = world.bookings.get(p.get("BOOKINGID") or "")
    if found is None or found.cancelled or found.email != user.email:
        return result(404, "Unknown booking")
    found.cancelled = True
    return result(200, "Cancelled")


HANDLERS = {
    ("ClickBook3P", "GETSERVICEPROVIDERS"): providers,
    ("ClickBook3P", "GETLOCATIONS"): locations,
    ("ClickBook3P", "GETSERVICES"): services,
    ("ClickBook3P", "GETSTAFF"): staff,
    ("ClickBook3P", "GETTIMESLOTS"): timeslots,
    ("ClickBookPublic", "GETTIMEZONEINFO"): timezones,
    ("ClickBookPublic", "GETCOUNTRIES"): countries,
    ("ClickBookPublic", "SETUSERFIELDS"): set_user_fields,
    ("ClickBookAdmin", "PROCESSREGSTUB"): process_stub,
    ("ClickBookPrivate", "GETUSERINFO"): user_info,
    ("ClickBookPrivate", "SETUSERFIELDS"): set_user_fields,
    ("ClickBookPrivate", "GETCLIENTFILES"): client_files,
    ("ClickBookPrivate", "BOOKTIMESLOT"): book,
    ("ClickBookPrivate", "GETBOOKINGS"): bookings,
    ("ClickBookPrivate", "CANCELBOOKING"): cancel,
}

__all__ = ["API_KEY", "HANDLERS"]
