"""The recipient's phone number: typed as people write it, sent to the recipient in E.164,
and refused with words (naming the field, never repeating the number) when it cannot
be sent to, through the API and lockerctl alike."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.api import parcel, refused, states
from testkit.daemon import COURIER, Daemon, running_daemon

CARLA = COURIER[1]


@pytest.fixture
def in_germany() -> Iterator[Daemon]:
    """A kiosk whose home region is Germany: national numbers are read as German."""
    with running_daemon(sections={"policy": {"phone_region": "DE"}}) as d:
        yield d


def sent_to(daemon: Daemon, barcode: str) -> tuple[str, str]:
    """The channel and recipient of the pickup code sent for ``barcode`` (the inbox)."""
    daemon.code_for(barcode)
    (sent,) = [m for m in daemon.inbox() if m["kind"] == "parcel_stored"
               and m["payload"]["barcode"] == barcode]  # fmt: skip
    return sent["channel"], sent["recipient"]


def test_a_number_typed_without_its_country_code_reaches_the_recipient_in_e164(
    in_germany: Daemon,
) -> None:
    courier = in_germany.signed_in()
    view = courier.post("/v1/deposits", {"barcode": "PKG-NATIONAL", "size": "S",
                                         "phone": "0151 1234 5678"})  # fmt: skip
    assert courier.wait_operation(view["operation"])["status"] == "CLOSED"

    assert sent_to(in_germany, "PKG-NATIONAL") == ("sms", "+4915112345678")
    assert parcel(in_germany, "PKG-NATIONAL")["phone"] == "+49******78"


def test_an_announced_national_number_is_stored_and_sent_in_e164(in_germany: Daemon) -> None:
    announced = in_germany.ctl("announce", "PKG-ANN-DE", "--size", "S",
                               "--phone", "(0170) 99 88 77 66", pin=CARLA)  # fmt: skip
    assert announced.returncode == 0, announced.stderr
    assert announced.stdout.strip() == "Announced PKG-ANN-DE (size S, +49******66): ANNOUNCED."

    deposited = in_germany.ctl("deposit", "PKG-ANN-DE", pin=CARLA)
    assert deposited.returncode == 0, deposited.stderr
    assert sent_to(in_germany, "PKG-ANN-DE") == ("sms", "+4917099887766")


def test_a_number_that_cannot_be_sent_to_is_refused_and_nothing_opens(in_germany: Daemon) -> None:
    courier = in_germany.signed_in()
    body = {"barcode": "PKG-SHORT", "size": "S", "phone": "+49 151"}

    err = refused(lambda: courier.post("/v1/deposits", body), 400)

    assert err.message == "phone: too short for a phone number in DE (+49)"
    assert err.kind == "InvalidPhone"
    assert err.details == {"reason": "phone_too_short", "field": "phone"}
    assert set(states(in_germany).values()) == {"AVAILABLE"}
    assert in_germany.client().get("/v1/parcels")["parcels"] == []
    (event,) = in_germany.events("recipient_phone_refused")
    assert (event["actor"], event["severity"]) == ("carla", "warning")
    assert event["detail"] == {"barcode": "PKG-SHORT", "reason": "phone_too_short"}


def test_without_a_home_region_a_national_number_is_refused_asking_for_the_country_code(
    daemon: Daemon,
) -> None:
    courier = daemon.signed_in()
    body = {"barcode": "PKG-NO-REGION", "size": "S", "phone": "015112345678"}

    err = refused(lambda: courier.post("/v1/announcements", body), 400)

    assert err.message == (
        "phone: needs its country code, starting with + (like +49 for Germany), as no "
        "home country is set for this kiosk (policy.phone_region)"
    )
    assert err.details["reason"] == "phone_needs_country_code"
    assert "12345678" not in str(daemon.events())


def test_lockerctl_names_the_phone_field_and_exits_non_zero(in_germany: Daemon) -> None:
    result = in_germany.ctl("deposit", "PKG-CTL-BAD", "--size", "S", "--phone", "0000 0000",
                            pin=CARLA)  # fmt: skip

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "lockerctl: phone: not a phone number in use in DE (+49); a number from another "
        "country needs its country code, starting with +"
    )
    assert "0000" not in result.stderr.replace("(+49)", "")
    assert set(states(in_germany).values()) == {"AVAILABLE"}
