"""ClickBook's answers become domain errors in one place (providers/clickbook/errors.py)."""

from __future__ import annotations

import httpx
import pytest
from zeep.exceptions import Fault

from providers.base import (
    SESSION_ENDED,
    AuthFailed,
    BookingRefused,
    CustomerField,
    InvalidCustomerData,
    NotFound,
    ProviderUnavailable,
    Refusal,
    SlotTaken,
)
from providers.clickbook.errors import (
    LOCKED_OUT,
    WRONG_PASSWORD,
    HttpFailure,
    SessionGone,
    call_error,
    login_error,
    result_error,
    retryable,
)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (401, AuthFailed),
        (404, NotFound),
        (409, SlotTaken),
        (423, AuthFailed),
        (422, BookingRefused),
        (500, BookingRefused),
    ],
)
def test_each_result_code_has_its_domain_error(code: int, expected: type) -> None:
    assert isinstance(result_error({"CODE": code, "MESSAGE": "x"}, "booking"), expected)


def test_success_codes_are_no_error() -> None:
    assert result_error({"CODE": 200}, "booking") is None
    assert result_error({"CODE": "301"}, "account") is None


def test_a_field_error_names_the_customer_field_and_an_existing_account_says_sign_in() -> None:
    refused = result_error(
        {"CODE": 422, "ERRORS": {"FIELDERROR": [{"FIELD": "inp-telfixed", "MESSAGE": "N"}]}},
        "account",
    )
    assert isinstance(refused, InvalidCustomerData) and refused.field is CustomerField.PHONE
    exists = result_error({"CODE": 423, "MESSAGE": "exists"}, "account")
    assert isinstance(exists, AuthFailed) and exists.kind is Refusal.ACCOUNT_EXISTS


def test_faults_timeouts_and_gateways_are_unavailable_and_reads_of_them_retried() -> None:
    assert isinstance(call_error(Fault("LotusScript error"), "booking"), ProviderUnavailable)
    assert isinstance(call_error(httpx.ReadTimeout("t"), "read"), ProviderUnavailable)
    assert isinstance(call_error(HttpFailure(500), "booking"), ProviderUnavailable)
    assert retryable(HttpFailure(503)) and retryable(httpx.ConnectError("c"))
    assert not retryable(HttpFailure(500)) and not retryable(Fault("f"))


def test_the_login_form_ends_a_session_but_not_a_public_call() -> None:
    ended = call_error(SessionGone(), "booking")
    assert isinstance(ended, AuthFailed) and ended.message == SESSION_ENDED
    assert isinstance(call_error(SessionGone(), "read"), ProviderUnavailable)


def test_a_locked_account_is_not_a_wrong_password() -> None:
    locked = login_error(401, "<html>You are locked out. Please try later.</html>")
    wrong = login_error(401, "<html>Invalid username or password</html>")
    assert isinstance(locked, AuthFailed) and locked.message == LOCKED_OUT
    assert isinstance(wrong, AuthFailed) and wrong.message == WRONG_PASSWORD
    assert isinstance(login_error(503, ""), ProviderUnavailable)
    assert login_error(200, '{"model": {}}') is None
