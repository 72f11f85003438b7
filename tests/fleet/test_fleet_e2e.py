"""The operator's tool and a real kiosk together: locker-fleet over Mosquitto to a daemon."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from testkit.api import PHONE
from testkit.broker import running_broker
from testkit.fleet import USERS, linked_kiosk, operator_config

KIOSK = "KIOSK-3"


def fleet(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.fleet.cli", *args, "--config", str(config)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_an_operator_announces_opens_configures_and_lists_a_real_kiosk(
    operator_key: Any, tmp_path: Path
) -> None:
    key, keyring = operator_key
    with (
        running_broker(tmp_path / "broker", USERS) as broker,
        linked_kiosk(broker, KIOSK, keyring, tmp_path) as daemon,
    ):
        config = operator_config(tmp_path, broker, key)
        daemon.wait_for(lambda: daemon.client().get("/v1/status")["fleet"]["state"] == "connected",
                        what="the link")  # fmt: skip

        listed = fleet(config, "kiosks", "--json")
        assert listed.returncode == 0, listed.stderr
        (mine,) = [k for k in json.loads(listed.stdout)["kiosks"] if k["kiosk"] == KIOSK]
        assert mine["status"] == "online" and mine["state"]["free"]["S"] == 4

        announced = fleet(config, "announce", KIOSK, "JJD-E2E-1", "--size", "M", "--phone", PHONE)
        assert announced.returncode == 0, announced.stdout + announced.stderr
        assert "JJD-E2E-1" in announced.stdout
        parcels = daemon.client().get("/v1/parcels")["parcels"]
        assert [(p["barcode"], p["state"]) for p in parcels] == [("JJD-E2E-1", "ANNOUNCED")]

        before = daemon.sim().fire_counts()["A07"]
        opened = fleet(config, "open", KIOSK, "A07")
        assert opened.returncode == 0, opened.stdout + opened.stderr
        assert opened.stdout == "KIOSK-3: Door A07 opened\n"
        assert daemon.sim().fire_counts()["A07"] == before + 1

        refused = fleet(config, "open", KIOSK, "Z99")
        assert refused.returncode == 1
        assert "refused" in refused.stdout + refused.stderr

        test = fleet(config, "selftest", KIOSK, "--json")
        assert test.returncode == 0, test.stderr
        answer = json.loads(test.stdout)["answer"]
        assert answer["result"]["passed"] is True
        assert answer["message"] == "Self-test passed. (No door was opened.)"

        held = fleet(config, "announce", KIOSK, "JJD-E2E-2", "--size", "L", "--email",
                     "anna@example.net", "--reserve")  # fmt: skip
        assert held.returncode == 0, held.stdout + held.stderr
        assert held.stdout == (
            "KIOSK-3: Parcel JJD-E2E-2 announced. Compartment A07 is held for it for 24 h\n"
        )
        configured = fleet(config, "configure", KIOSK, "--set", "policy.hold_hours=48",
                           "--set", "doors.poll_hz=1", "--json")  # fmt: skip
        assert configured.returncode == 0, configured.stdout + configured.stderr
        shown = json.loads(configured.stdout)
        assert shown["answer"]["result"] == {
            "version": shown["sent"]["args"]["version"],
            "applied": {"policy.hold_hours": 48},
            "refused": {"doors.poll_hz": "not settable remotely"},
        }
