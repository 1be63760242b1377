"""New ClickBook accounts and client files: the two SETUSERFIELDS schemas (seed 001).

Why a module of its own: both follow the same documented sequence of calls, apart from the
booking itself. A customer's self-registration is the NewUserRegistration schema on the Public
API (an INFO StubID), completed by PROCESSREGSTUB on the Admin API (code 301); the form the
chat asks (:func:`form`) enforces the schema's flags (Y mandatory, E email, P password typed
twice, T terms agreed, X a time zone from GETTIMEZONEINFO, O a country from the options). A
staff member's new client is the NewClientFile schema (an INFO ClientFileID), created only when
no client file has the client's email yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from providers.base import (
    N_,
    CustomerDetails,
    CustomerField,
    ProviderUnavailable,
    Selection,
    SignUpField,
    SignUpForm,
)
from providers.clickbook import api, mapping
from providers.clickbook.errors import result_error
from providers.http import settle

if TYPE_CHECKING:
    from providers.clickbook.adapter import ClickbookProvider
    from providers.clickbook.client import ClickbookClient, Session

#: The platform reference of a customer's own record (a customer books as themselves).
SELF_PREFIX = "user:"
ASK_TIMEZONE = N_("Which time zone are you in? Tap it, or type its name to search.")
ASK_COUNTRY = N_("Which country do you live in? Type its name to search.")
ASK_TERMS = N_("Please read ClickBook's terms and tap “I agree” to accept them: {link}")


async def form(provider: ClickbookProvider, selection: Selection) -> SignUpForm:
    """NewUserRegistration as the chat asks it (the email comes first, the password last)."""
    zone_list, country_list = await settle(
        provider.cached_read(("tz",), mapping.TIMEZONES),
        provider.cached_read(("co",), mapping.COUNTRIES),
    )
    zones, countries = api.choices(zone_list, "TIMEZONE"), api.choices(country_list, "COUNTRY")
    business_zone = provider.deps.timezone.key
    default_zone = next((z.id for z in zones if z.id == business_zone), None)
    # The business's zone first: most customers live where the business is.
    zones = sorted(zones, key=lambda z: z.id != default_zone)
    return SignUpForm(
        fields=(
            SignUpField(mapping.REG_FIRST_NAME, "detail", customer_field=CustomerField.FIRST_NAME),
            SignUpField(mapping.REG_LAST_NAME, "detail", customer_field=CustomerField.LAST_NAME),
            # inp-telfixed is N,Y: a number, mandatory.
            SignUpField(mapping.REG_TEL_FIXED, "detail", customer_field=CustomerField.PHONE),
            SignUpField(
                mapping.REG_TIMEZONE,
                "choice",
                prompt=ASK_TIMEZONE,
                options=tuple(zones),
                default=default_zone,
            ),
            SignUpField(
                mapping.REG_COUNTRY, "choice", prompt=ASK_COUNTRY, options=tuple(countries)
            ),
            SignUpField(mapping.REG_AGREE_TERMS, "agree", prompt=ASK_TERMS, link=mapping.TERMS_URL),
            SignUpField(mapping.REG_PASSWORD_1, "password"),
        )
    )


async def register(
    client: ClickbookClient, email: str, values: Mapping[str, str], password: str
) -> None:
    """SETUSERFIELDS (NewUserRegistration) then PROCESSREGSTUB; the caller signs in next."""
    result = await client.call(
        mapping.REGISTER,
        context="account",
        idempotent=False,
        GROUPNAME=mapping.GROUP_REGISTRATION,
        CONTEXTFORM=mapping.FORM_REGISTRATION,
        CONTEXTID="",
        VALIDATIONMODE=mapping.VALIDATION_MODE,
        FIELDS=api.fields(api.registration_fields(values, email, password)),
    )
    del password
    result = result if isinstance(result, dict) else {}
    error = result_error(result, "account")
    if error is not None:
        raise error
    stub = api.text(result, mapping.RESULT_INFO)
    if not stub:
        raise ProviderUnavailable("ClickBook answered no registration StubID")
    processed = await client.call(
        mapping.PROCESS_STUB, context="account", idempotent=False, STUBID=stub
    )
    processed = processed if isinstance(processed, dict) else {}
    error = result_error(processed, "account")
    if error is not None:
        raise error
    if api.text(processed, mapping.RESULT_CODE) != str(mapping.CODE_REGISTERED):
        raise ProviderUnavailable("ClickBook did not confirm the registration (no 301)")


def self_ref(session: Session | str | None) -> str | None:
    """Our fiche's platform reference for a signed-in customer themselves."""
    email = session if isinstance(session, str) or session is None else session.email
    return SELF_PREFIX + email.lower() if email else None


async def existing_client_file(
    client: ClickbookClient, user_key: str, customer: CustomerDetails
) -> str | None:
    """The ClientFileID of ``customer`` if they have one: our fiche's (their ``provider_ref``),
    else the client file with their email; ``None`` when ClickBook has none (nothing is
    created: a booking lookup asks this too)."""
    if customer.provider_ref and not customer.provider_ref.startswith(SELF_PREFIX):
        return customer.provider_ref
    email = (customer.email or "").lower()
    if email:
        found = await client.call(
            mapping.FIND_CLIENT_FILES, context="session", user_key=user_key, SEARCHTEXT=email
        )
        for item in api.items(found, "CLIENTFILE"):
            if api.text(item, "EMAIL").lower() == email and api.text(item, "CLIENTFILEID"):
                return api.text(item, "CLIENTFILEID")
    return None


async def client_file(client: ClickbookClient, user_key: str, customer: CustomerDetails) -> str:
    """The ClientFileID of ``customer``: their existing client file
    (:func:`existing_client_file`), else a new one (NewClientFile; ClickBook invites the
    client)."""
    existing = await existing_client_file(client, user_key, customer)
    if existing:
        return existing
    result = await client.call(
        mapping.CREATE_CLIENT_FILE,
        context="booking",
        user_key=user_key,
        idempotent=False,
        GROUPNAME=mapping.GROUP_CLIENT_FILE,
        CONTEXTFORM=mapping.FORM_CLIENT_FILE,
        CONTEXTID="",
        VALIDATIONMODE=mapping.VALIDATION_MODE,
        FIELDS=api.fields(api.client_file_fields(customer)),
    )
    result = result if isinstance(result, dict) else {}
    error = result_error(result, "booking")
    if error is not None:
        raise error
    created = api.text(result, mapping.RESULT_INFO)
    if not created:
        raise ProviderUnavailable("ClickBook answered no ClientFileID")
    return created
