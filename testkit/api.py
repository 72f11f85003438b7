"""Small steps that several journeys share: put a parcel in, look at what the kiosk stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kiosk.protocol.client import ApiClient, ApiError
from testkit.daemon import Daemon

PHONE = "+4915112345678"


def compartments(daemon: Daemon) -> dict[str, dict[str, Any]]:
    """Every compartment's view by id, as ``GET /v1/compartments`` shows it."""
    return {c["id"]: c for c in daemon.client().get("/v1/compartments")["compartments"]}


def states(daemon: Daemon) -> dict[str, str]:
    return {cid: c["state"] for cid, c in compartments(daemon).items()}


def parcel(daemon: Daemon, barcode: str) -> dict[str, Any]:
    """The stored parcel with this barcode, as ``GET /v1/parcels`` shows it."""
    found = [p for p in daemon.client().get("/v1/parcels")["parcels"] if p["barcode"] == barcode]
    assert len(found) == 1, f"expected one parcel {barcode!r}, found {found}"
    return found[0]


def store_parcel(
    daemon: Daemon,
    barcode: str,
    size: str = "M",
    courier: ApiClient | None = None,
    **extra: Any,
) -> tuple[str, str]:
    """A courier deposits ``barcode`` and the door closes; returns (compartment, code)."""
    courier = courier or daemon.signed_in()
    body = {"barcode": barcode, "size": size, "phone": PHONE, **extra}
    view = courier.post("/v1/deposits", body)
    done = courier.wait_operation(view["operation"])
    assert done["status"] == "CLOSED", done
    # The barcode as stored (a scanner's prefix and control characters are dropped).
    (stored,) = [p for p in courier.get("/v1/parcels")["parcels"] if p["id"] == done["parcel"]]
    code = daemon.code_for(stored["barcode"])
    # Delivered and logged: later looks at the event log see the whole deposit.
    daemon.wait_for(lambda: courier.get("/v1/status")["outbox_depth"] == 0, what="delivery")
    return view["compartment"], code


def refused(call: Callable[[], Any], status: int) -> ApiError:
    """The :class:`ApiError` ``call`` raised, after checking its HTTP status."""
    with pytest.raises(ApiError) as info:
        call()
    assert info.value.status == status, (info.value.status, info.value.message)
    return info.value


def event_kinds(daemon: Daemon) -> list[str]:
    return [e["kind"] for e in daemon.events()]
