"""Recipients' phone numbers: read as people write them, kept and sent in E.164.

Every phone number that enters the kiosk passes :func:`normalize_phone`, in one place
(:meth:`kiosk.courier.Courier.contact`): a courier's deposit or announcement through the
API (the touchscreen, ``lockerctl``) and an announcement from the operator's network.
What is stored, shown masked and handed to the notification back ends is E.164
(``+4915112345678``).

A national number (``0151 12345678``) is read in the kiosk's region,
``policy.phone_region``. Without a region a number needs its country code: guessing a
country would send a pickup code to a stranger's phone.

The rules are libphonenumber's (the ``phonenumbers`` module of ``phonenumberslite``):
which country codes exist, how long a number of each is, which ranges are in use. A
refusal is an :class:`InvalidPhone`, whose message names the field and says what is
wrong without repeating the number, and whose ``reason`` is a :class:`PhoneProblem`
code a front end can word in the person's language.
"""

from __future__ import annotations

import re
from enum import StrEnum

import phonenumbers
from phonenumbers import (
    CountryCodeSource,
    NumberParseException,
    PhoneNumber,
    PhoneNumberFormat,
    ValidationResult,
)

from kiosk.errors import InvalidInput

FIELD = "phone"
REGIONS: frozenset[str] = frozenset(phonenumbers.SUPPORTED_REGIONS)
"""The regions ``policy.phone_region`` may name: ISO 3166 codes like ``DE``, ``GB``."""

# What people put in a phone number: digits, a leading + (or 00), spaces, dashes,
# dots, slashes and brackets. Letters are refused although libphonenumber would read
# them (1-800-FLOWERS, "ext. 12"): neither a vanity number nor an extension receives a
# text message.
_WRITTEN = re.compile(r"\+?[0-9(][0-9 ()./-]*")
MAX_LENGTH = 40


class PhoneProblem(StrEnum):
    """Why a phone number was refused (the ``reason`` of a 400 from the API)."""

    NOT_A_NUMBER = "phone_not_a_number"
    NEEDS_COUNTRY_CODE = "phone_needs_country_code"
    UNKNOWN_COUNTRY_CODE = "phone_unknown_country_code"
    TOO_SHORT = "phone_too_short"
    TOO_LONG = "phone_too_long"
    WRONG_LENGTH = "phone_wrong_length"
    NOT_IN_USE = "phone_not_in_use"


class InvalidPhone(InvalidInput):
    """A phone number that cannot be sent to. The message starts with the field's name."""

    field = FIELD

    def __init__(self, problem: PhoneProblem, message: str) -> None:
        super().__init__(f"{FIELD}: {message}")
        self.reason = str(problem)
        self.problem = problem


def normalize_phone(text: str, region: str = "") -> str:
    """``text`` as an E.164 number; national numbers are read in ``region`` (``"DE"``).

    Raises :class:`InvalidPhone` for anything that is not a number in use somewhere."""
    written = text.strip()
    if len(written) > MAX_LENGTH or not _WRITTEN.fullmatch(written):
        raise InvalidPhone(
            PhoneProblem.NOT_A_NUMBER,
            "a phone number has digits, spaces, dashes or brackets only, "
            "and a + only in front of its country code",
        )
    number = _parse(written, region)
    _check(number)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def for_sending(stored: str, region: str = "") -> str:
    """A stored number as it is sent: E.164. A number an earlier version stored as it
    was typed is read in ``region`` now; one that cannot be read is sent as stored
    (the gateway decides), as refusing it would lose the parcel's notification."""
    try:
        return normalize_phone(stored, region)
    except InvalidPhone:
        return stored.strip()


def is_region(code: str) -> bool:
    return code in REGIONS


def _international(written: str) -> bool:
    return written.startswith(("+", "00"))


def _parse(written: str, region: str) -> PhoneNumber:
    try:
        return phonenumbers.parse(written, region or None, keep_raw_input=True)
    except NumberParseException as exc:
        raise _parse_problem(exc, written, region) from None


def _parse_problem(exc: NumberParseException, written: str, region: str) -> InvalidPhone:
    kind = exc.error_type
    if kind == NumberParseException.INVALID_COUNTRY_CODE:
        if not region and not _international(written):
            return InvalidPhone(
                PhoneProblem.NEEDS_COUNTRY_CODE,
                "needs its country code, starting with + (like +49 for Germany), as no "
                "home country is set for this kiosk (policy.phone_region)",
            )
        return InvalidPhone(PhoneProblem.UNKNOWN_COUNTRY_CODE, "no country has that country code")
    if kind == NumberParseException.TOO_LONG:
        return InvalidPhone(PhoneProblem.TOO_LONG, "too long for a phone number")
    # NOT_A_NUMBER too: what passed _WRITTEN is digits, so there were too few of them
    return InvalidPhone(PhoneProblem.TOO_SHORT, "too short for a phone number")


def _check(number: PhoneNumber) -> None:
    """Refuse a parsed number that cannot be in use: a wrong length, an unused range."""
    if phonenumbers.is_valid_number(number):
        return
    where = _where(number)
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible == ValidationResult.INVALID_COUNTRY_CODE:
        raise InvalidPhone(PhoneProblem.UNKNOWN_COUNTRY_CODE, "no country has that country code")
    if possible == ValidationResult.TOO_LONG:
        raise InvalidPhone(PhoneProblem.TOO_LONG, f"too long for a phone number {where}")
    if possible in (ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        raise InvalidPhone(PhoneProblem.TOO_SHORT, f"too short for a phone number {where}")
    if possible == ValidationResult.INVALID_LENGTH:
        raise InvalidPhone(
            PhoneProblem.WRONG_LENGTH, f"the wrong number of digits for a phone number {where}"
        )
    read_as_national = number.country_code_source == CountryCodeSource.FROM_DEFAULT_COUNTRY
    hint = (
        "; a number from another country needs its country code, starting with +"
        if read_as_national
        else ""
    )
    raise InvalidPhone(PhoneProblem.NOT_IN_USE, f"not a phone number in use {where}{hint}")


def _where(number: PhoneNumber) -> str:
    """``in DE (+49)``, or ``under +1`` where countries share a code, for messages."""
    code = number.country_code or 0
    regions = phonenumbers.region_codes_for_country_code(code)
    if len(regions) == 1 and regions[0] != "001":
        return f"in {regions[0]} (+{code})"
    return f"under +{code}"
