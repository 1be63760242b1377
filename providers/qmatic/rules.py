"""What Qmatic documents it refuses, checked here before anything is reserved or sent: the
customer's details and the answers to the service's questions. (The external customer
identifier is not the customer's to give: the adapter generates it, see
:func:`providers.qmatic.api.customer_identifier`.)

A module of its own because the adapter applies these rules before a booking and an update.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from providers.base import (
    N_,
    BookingRefused,
    CustomerDetails,
    CustomerField,
    InvalidCustomerData,
    Question,
    platform_text,
)

NAME_MAX = 255
#: Shown to the user when a detail breaks Qmatic's documented rules (checked before sending).
NAME_REFUSED = N_("A name of 1 to 255 characters is needed.")


def check_names(customer: CustomerDetails) -> None:
    for field, value in (
        (CustomerField.FIRST_NAME, customer.first_name),
        (CustomerField.LAST_NAME, customer.last_name),
    ):
        if not value.strip() or len(value) > NAME_MAX:
            raise InvalidCustomerData(field, NAME_REFUSED)


def check_customer(customer: CustomerDetails, *, birth_date_required: bool) -> None:
    """Refuse what Qmatic documents it refuses before anything is sent or reserved."""
    check_names(customer)
    if not customer.email or len(customer.email) > NAME_MAX or "@" not in customer.email:
        raise InvalidCustomerData(CustomerField.EMAIL, N_("A valid email address is needed."))
    if birth_date_required and customer.birth_date is None:
        raise InvalidCustomerData(CustomerField.BIRTH_DATE, N_("A date of birth is needed."))


def information_answers(
    questions: Sequence[Question], answers: Mapping[str, str]
) -> list[tuple[str, str]]:
    """Check the answers against the questions; the information answers to send."""
    sent: list[tuple[str, str]] = []
    for q in questions:
        answer = (answers.get(q.id) or "").strip()
        if q.kind == "screening":
            if q.required_answer is not None and (answer.lower() == "yes") != q.required_answer:
                raise BookingRefused("screening_denied", platform_text(q.denied_message))
            continue
        if q.required and not answer:
            raise BookingRefused(
                "question_unanswered",
                N_("Please answer every question before booking."),
                detail=q.text,
            )
        if len(answer) > q.max_length:
            raise BookingRefused(
                "answer_too_long", N_("One of your answers is too long."), detail=q.text
            )
        if answer:
            sent.append((q.text, answer))
    return sent
