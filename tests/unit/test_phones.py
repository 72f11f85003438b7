"""Recipients' phone numbers: written as people write them, kept and sent in E.164, and
refused with a message that names the field and what is wrong, never the number."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.phones import InvalidPhone, PhoneProblem, for_sending, normalize_phone
from tests.unit.config_files import problems_of, write_config

pytestmark = pytest.mark.usefixtures("fake_drivers")


@pytest.mark.parametrize(
    "written",
    [
        "015112345678",
        "0151 1234 5678",
        "0151/12345678",
        "0151-1234-5678",
        "(0151) 12345678",
        "+49 151 12345678",
        "+49 (0)151 12345678",
        "0049 151 12345678",
        "  +4915112345678  ",
    ],
)
def test_a_german_mobile_number_however_written_is_kept_as_e164(written: str) -> None:
    assert normalize_phone(written, "DE") == "+4915112345678"


@pytest.mark.parametrize(
    ("written", "region", "e164"),
    [
        ("07911 123456", "GB", "+447911123456"),
        ("0664 1234567", "AT", "+436641234567"),
        ("030 12345678", "DE", "+493012345678"),
        ("(202) 555-0123", "US", "+12025550123"),
    ],
)
def test_a_national_number_is_read_in_the_kiosks_home_region(
    written: str, region: str, e164: str
) -> None:
    assert normalize_phone(written, region) == e164


@pytest.mark.parametrize("region", ["", "DE", "AT", "US"])
def test_a_number_with_its_country_code_is_the_same_number_wherever_the_kiosk_is(
    region: str,
) -> None:
    assert normalize_phone("+44 20 7946 0958", region) == "+442079460958"
    assert normalize_phone("+4915112345678", region) == "+4915112345678"


def test_without_a_home_region_a_national_number_is_refused_asking_for_its_country_code() -> None:
    with pytest.raises(InvalidPhone) as refused:
        normalize_phone("015112345678")

    assert refused.value.problem is PhoneProblem.NEEDS_COUNTRY_CODE
    assert str(refused.value) == (
        "phone: needs its country code, starting with + (like +49 for Germany), as no "
        "home country is set for this kiosk (policy.phone_region)"
    )


@pytest.mark.parametrize(
    ("written", "problem", "message"),
    [
        ("0151 1234567 ext 12", PhoneProblem.NOT_A_NUMBER,
         "phone: a phone number has digits, spaces, dashes or brackets only, "
         "and a + only in front of its country code"),
        ("0800-FLOWERS", PhoneProblem.NOT_A_NUMBER, None),
        ("49+151123456", PhoneProblem.NOT_A_NUMBER, None),
        ("", PhoneProblem.NOT_A_NUMBER, None),
        ("7", PhoneProblem.TOO_SHORT, "phone: too short for a phone number"),
        ("+49 151", PhoneProblem.TOO_SHORT, "phone: too short for a phone number in DE (+49)"),
        ("+49 151 1234567890123", PhoneProblem.TOO_LONG,
         "phone: too long for a phone number in DE (+49)"),
        ("+999 1234 5678", PhoneProblem.UNKNOWN_COUNTRY_CODE,
         "phone: no country has that country code"),
        ("0000 0000", PhoneProblem.NOT_IN_USE,
         "phone: not a phone number in use in DE (+49); a number from another country "
         "needs its country code, starting with +"),
        ("+1 555 0100 000", PhoneProblem.NOT_IN_USE, "phone: not a phone number in use under +1"),
        ("1" * 41, PhoneProblem.NOT_A_NUMBER, None),
    ],
)  # fmt: skip
def test_a_number_that_cannot_be_sent_to_is_refused_saying_why(
    written: str, problem: PhoneProblem, message: str | None
) -> None:
    with pytest.raises(InvalidPhone) as refused:
        normalize_phone(written, "DE")

    assert refused.value.problem is problem
    assert refused.value.reason == str(problem)  # the API's details.reason
    assert refused.value.field == "phone"
    assert str(refused.value).startswith("phone: ")
    if message is not None:
        assert str(refused.value) == message


def test_a_refusal_never_repeats_the_number() -> None:
    for written in ("0151 12", "+49 151 1234567890123", "0000 0000", "0151 1234567 ext 12"):
        with pytest.raises(InvalidPhone) as refused:
            normalize_phone(written, "DE")
        digits = "".join(ch for ch in written if ch.isdigit())
        shown = "".join(ch for ch in str(refused.value) if ch.isdigit())
        assert digits[-4:] not in shown, str(refused.value)


def test_a_number_stored_as_typed_by_an_earlier_version_is_sent_in_e164() -> None:
    assert for_sending("0151 1234 5678", "DE") == "+4915112345678"
    assert for_sending("+4915112345678", "") == "+4915112345678"
    # unreadable now (no home region): sent as stored, so the notification is not lost
    assert for_sending(" 0151 1234 5678 ", "") == "0151 1234 5678"


# -- the config key ------------------------------------------------------------------


def test_the_home_region_is_read_from_policy(tmp_path: Path) -> None:
    from kiosk.config import load_config

    path = write_config(tmp_path, '[policy]\nphone_region = "AT"')
    assert load_config(path).policy.phone_region == "AT"
    assert load_config(write_config(tmp_path, "")).policy.phone_region == ""


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ('"de"', " (did you mean 'DE'?)"),
        ('"UK"', " (the United Kingdom is 'GB')"),
        ('"XX"', ""),
        ('"Germany"', ""),
    ],
)
def test_a_home_region_phone_numbers_are_not_known_for_is_refused(
    tmp_path: Path, value: str, hint: str
) -> None:
    path = write_config(tmp_path, f"[policy]\nphone_region = {value}")

    shown = value.strip('"')
    assert problems_of(path) == [
        f"{path}: policy.phone_region: '{shown}' (string) is not a region phone numbers are "
        f"known for: an ISO 3166 code like 'DE' or 'AT', or \"\" for none{hint}"
    ]
