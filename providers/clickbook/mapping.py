"""Every ClickBook operation, element and code name the adapter uses, in one place.

ClickBook publishes its endpoints and a few request elements, but not its WSDLs, its response
envelopes or the operations that list the catalog and book. Everything below that is not marked
KNOWN is our best reading (Domino publishes LotusScript web services with upper-case names,
RPC/literal, each answer in a ``<OPERATION>Return`` part); correct it here from a sandbox account
and nothing else changes. ``bookbot check-provider`` and ``check-config`` report every operation
named here that the loaded WSDL lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Endpoint = Literal["ClickBook3P", "ClickBookPublic", "ClickBookPrivate", "ClickBookAdmin"]

#: KNOWN (seed 000): the four endpoints, each with its WSDL at ``?WSDL``.
ENDPOINTS: tuple[Endpoint, ...] = (
    "ClickBook3P",
    "ClickBookPublic",
    "ClickBookPrivate",
    "ClickBookAdmin",
)
#: KNOWN (seed 000): where the endpoints live.
DEFAULT_SOAP_BASE_URL = "http://clickbook.net/wsapi/latest"
#: KNOWN (seed 000 and the login page): the JSON sign-in and the logout live on www.
DEFAULT_LOGIN_BASE_URL = "https://www.clickbook.net"
#: KNOWN: ``GET {login}/auth/auth.nsf/LoginOK?Open&cacheHack=<random>`` with HTTP Basic.
LOGIN_PATH = "/auth/auth.nsf/LoginOK"
#: KNOWN: the logout URL.
LOGOUT_PATH = "/names.nsf"
#: KNOWN: a locked account's 401 body contains this sentence.
LOCKED_OUT_TEXT = "You are locked out"
#: KNOWN: Domino's session cookies (one of them, depending on the server's set-up).
SESSION_COOKIES = ("DomAuthSessID", "LtpaToken")
#: GUESS: Domino answers an anonymous request to a protected resource with its HTML login
#: form (200, text/html) rather than a 401; its form posts to this path.
LOGIN_FORM_MARKER = "names.nsf?Login"


@dataclass(frozen=True)
class Operation:
    """One SOAP operation: the endpoint that publishes it and its name in the WSDL."""

    endpoint: Endpoint
    name: str


#: GUESS: the directory lists service providers (3P is for local business directories).
LIST_PROVIDERS = Operation("ClickBook3P", "GETSERVICEPROVIDERS")
#: GUESS: a provider's locations.
LIST_LOCATIONS = Operation("ClickBook3P", "GETLOCATIONS")
#: GUESS: a location's services (duration in minutes, price and currency).
LIST_SERVICES = Operation("ClickBook3P", "GETSERVICES")
#: GUESS: the staff (resources) offering a service at a location.
LIST_STAFF = Operation("ClickBook3P", "GETSTAFF")
#: GUESS: free timeslots between two dates; an empty STAFFID means any staff member.
LIST_TIMESLOTS = Operation("ClickBook3P", "GETTIMESLOTS")
#: KNOWN name (seed 001): the valid time zone values. GUESS: each item is VALUE + LABEL.
TIMEZONES = Operation("ClickBookPublic", "GETTIMEZONEINFO")
#: GUESS: the countries offered for ``inp-country`` (an options field, values not public).
COUNTRIES = Operation("ClickBookPublic", "GETCOUNTRIES")
#: KNOWN name and first elements (seed 001): NewUserRegistration through the Public API.
REGISTER = Operation("ClickBookPublic", "SETUSERFIELDS")
#: KNOWN name (seed 001): completes a registration stub; 301 on success.
PROCESS_STUB = Operation("ClickBookAdmin", "PROCESSREGSTUB")
#: KNOWN name (seed 001): NewClientFile by signed-in staff. GUESS: on the Private endpoint.
CREATE_CLIENT_FILE = Operation("ClickBookPrivate", "SETUSERFIELDS")
#: GUESS: who is signed in (user type, names, phone, email).
USER_INFO = Operation("ClickBookPrivate", "GETUSERINFO")
#: GUESS: the signed-in staff member's client files matching a search text (an email).
FIND_CLIENT_FILES = Operation("ClickBookPrivate", "GETCLIENTFILES")
#: GUESS: books a timeslot, for the signed-in customer or in a client file's context.
BOOK = Operation("ClickBookPrivate", "BOOKTIMESLOT")
#: GUESS: the signed-in user's (or a client file's) bookings between two dates.
LIST_BOOKINGS = Operation("ClickBookPrivate", "GETBOOKINGS")
#: GUESS: cancels a booking. No operation to move one is known: changing means cancel + book.
CANCEL = Operation("ClickBookPrivate", "CANCELBOOKING")

#: Every operation the adapter may call (what check-provider looks for in the WSDLs).
OPERATIONS: tuple[Operation, ...] = (
    LIST_PROVIDERS,
    LIST_LOCATIONS,
    LIST_SERVICES,
    LIST_STAFF,
    LIST_TIMESLOTS,
    TIMEZONES,
    COUNTRIES,
    REGISTER,
    PROCESS_STUB,
    CREATE_CLIENT_FILE,
    USER_INFO,
    FIND_CLIENT_FILES,
    BOOK,
    LIST_BOOKINGS,
    CANCEL,
)

# -- SETUSERFIELDS -------------------------------------------------------------------------------
#: KNOWN (seed 001): the schema groups.
GROUP_REGISTRATION = "NewUserRegistration"
GROUP_CLIENT_FILE = "NewClientFile"
#: KNOWN: the forms the groups create.
FORM_REGISTRATION = "UReg"
FORM_CLIENT_FILE = "ClientFile"
#: GUESS: "create" validation (both schemas are "create only").
VALIDATION_MODE = "create"
#: GUESS: the field values travel as a FIELDS array of NAME/VALUE pairs (encoding not public).
FIELD_NAME, FIELD_VALUE = "NAME", "VALUE"
#: GUESS: true/false fields (flag T) are written "1"/"0", like Domino checkboxes.
TRUE, FALSE = "1", "0"

#: KNOWN (seed 001): NewUserRegistration's fields (flags in comments).
REG_FIRST_NAME = "inp-firstname"  # Y
REG_LAST_NAME = "inp-lastname"  # Y
REG_TEL_FIXED = "inp-telfixed"  # N,Y
REG_TEL_MOBILE = "inp-telmobile"  # N
REG_EMAIL_1 = "inp-emailaddress1"  # E,Y
REG_EMAIL_2 = "inp-emailaddress2"  # E,Y
REG_PASSWORD_1 = "inp-password1"  # noqa: S105 - a field name; P,Y
REG_PASSWORD_2 = "inp-password2"  # noqa: S105 - a field name; P,Y
REG_AGREE_TERMS = "inp-agreeterms"  # T,Y
REG_TIMEZONE = "inp-timezone"  # Y,X
REG_COUNTRY = "inp-country"  # O,Y
#: KNOWN (seed 001): NewClientFile's fields.
CF_FIRST_NAME = "inp-firstname"  # Y
CF_LAST_NAME = "inp-lastname"  # Y
CF_TEL_FIXED = "inp-telfixed"  # N,Y
CF_TEL_MOBILE = "inp-telmobile"  # N
CF_EMAIL_1 = "inp-newemailaddress1"  # E
CF_EMAIL_2 = "inp-newemailaddress2"  # E
#: GUESS: where ClickBook shows its terms (the registration must link to them).
TERMS_URL = "https://www.clickbook.net/terms"

# -- results -------------------------------------------------------------------------------------
#: GUESS: every write answers a RESULT of CODE, MESSAGE, INFO and field ERRORS.
RESULT_CODE, RESULT_MESSAGE, RESULT_INFO, RESULT_ERRORS = "CODE", "MESSAGE", "INFO", "ERRORS"
#: KNOWN: PROCESSREGSTUB's success code.
CODE_REGISTERED = 301
#: GUESS: the other codes, in HTTP's spirit. Their meaning is mapped in ``errors.py``.
CODE_OK = 200
CODE_NOT_SIGNED_IN = 401
CODE_NOT_FOUND = 404
CODE_TAKEN = 409
CODE_INVALID = 422
CODE_EXISTS = 423

#: GUESS: GETUSERINFO's USERTYPE values (the three user types of seed 000).
USER_CUSTOMER = "Customer"
STAFF_TYPES = frozenset({"Staff", "Authority"})
#: GUESS: dates and times travel as local ISO text without an offset, in the location's zone.
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"
