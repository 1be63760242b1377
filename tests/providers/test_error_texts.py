"""What of a provider error's text may reach a user: only what the adapter marked, our sentences
with ``N_`` (translated) and the platform's words with ``platform_text`` (as they are); any
other text is a diagnostic kept for the logs."""

from __future__ import annotations

import pytest

from bot.i18n import gettext
from providers.base import (
    N_,
    AuthFailed,
    BookingRefused,
    CustomerField,
    InvalidCustomerData,
    NotBookable,
    NotFound,
    PlatformText,
    ProviderError,
    ProviderUnavailable,
    platform_text,
)
from providers.clicrdv.errors import ERROR_TABLE, map_error
from providers.qmatic.errors import Operation, raise_for


def test_a_plain_text_is_a_diagnostic_and_never_the_users() -> None:
    error = NotFound("no service chosen")
    assert error.message is None
    assert error.detail == "no service chosen"
    assert str(error) == "no service chosen"


def test_our_marked_sentence_is_shown_and_translated_where_it_is_shown() -> None:
    error = NotFound(N_("This service is no longer offered."))
    assert error.message == "This service is no longer offered."
    assert error.detail is None
    assert gettext("fr", error.message) == "Cette prestation n’est plus proposée."


def test_the_platforms_text_is_shown_as_it_is() -> None:
    words = "Le salon est fermé le lundi."
    error = BookingRefused("rejected", platform_text(words))
    assert isinstance(error.message, PlatformText)
    assert error.message == words
    assert gettext("fr", error.message) == words
    assert platform_text(None) is None and platform_text("  ") is None


def test_a_diagnostic_can_go_with_a_text_for_the_user() -> None:
    errors: list[ProviderError] = [
        AuthFailed(N_("This email address does not exist."), reason="x", detail="why"),
        InvalidCustomerData(
            CustomerField.EMAIL, N_("A valid email address is needed."), detail="why"
        ),
        BookingRefused("r", N_("One of your answers is too long."), detail="why"),
        NotBookable(detail="why"),
    ]
    for error in errors:
        assert error.detail == "why" and str(error) == "why"
    assert [e.message is not None for e in errors] == [True, True, True, False]


def test_clicrdv_default_texts_are_ours_and_translated() -> None:
    for row in ERROR_TABLE:
        assert gettext("fr", row.default_text) != row.default_text, row.name
    # A code without the platform's text gets the default, in the user's language.
    error = map_error(400, {"errors": [{"code": 13}]}, "", "account")
    assert isinstance(error, AuthFailed) and error.message is not None
    assert gettext("fr", error.message) == "Cette adresse e-mail est inconnue."


@pytest.mark.parametrize(
    ("status", "context"), [(401, "booking"), (403, "account"), (401, "session")]
)
def test_clicrdv_session_refused_is_said_in_the_users_language(status: int, context: str) -> None:
    error = map_error(status, None, "", context)  # type: ignore[arg-type]
    assert isinstance(error, AuthFailed) and error.message is not None
    assert gettext("fr", error.message).startswith("Votre session")


def test_clicrdv_field_error_naming_the_platforms_field_key_is_not_shown() -> None:
    error = map_error(400, {"errors": {"lastname": ["is too long"]}}, "", "booking")
    assert isinstance(error, InvalidCustomerData) and error.field == CustomerField.LAST_NAME
    assert error.message is None and error.detail == "lastname is too long"


def test_qmatic_business_credentials_are_never_the_users_business() -> None:
    with pytest.raises(AuthFailed) as refused:
        raise_for(401, {"message": "Bad client secret"}, Operation.READ)
    assert refused.value.message is None
    with pytest.raises(ProviderUnavailable) as down:
        raise_for(500, {"message": "NullPointerException"}, Operation.READ)
    assert down.value.message is None


def test_qmatic_not_found_without_a_text_of_its_own_gets_ours() -> None:
    with pytest.raises(NotFound) as gone:
        raise_for(404, None, Operation.RESCHEDULE)
    assert gone.value.message is not None
    assert gettext("fr", gone.value.message).startswith("Ce rendez-vous n’existe plus.")
    with pytest.raises(NotFound) as platform:
        raise_for(404, {"message": "Rendez-vous introuvable"}, Operation.RESCHEDULE)
    assert platform.value.message == "Rendez-vous introuvable"
