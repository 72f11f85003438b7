"""The console in a real browser, against a real office, broker and kiosk, on both
databases: what a dispatcher and a viewer see and do, and what the kiosk then does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from office.store import schema
from testkit.api import store_parcel
from testkit.broker import Broker
from testkit.console import (
    browser,
    console_network,
    sign_in,
    text_of,
    wait_for_element,
    wait_for_text,
)
from tests.office.conftest import Database

pytestmark = pytest.mark.slow


def test_a_dispatcher_opens_a_door_and_sees_it_open_on_the_kiosk(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    with console_network(database, broker, tmp_path) as net, browser() as page:
        sim = net.kiosk.sim()
        sim.set_person("manual")  # nobody closes it: the door stays open to be seen
        sign_in(page, net.url, "dora", "/kiosks/KIOSK-1")
        wait_for_text(page, "A03")  # the wall is there
        form = page.locator("form[action='/kiosks/KIOSK-1/open']")
        form.locator("select[name=compartment]").select_option("A03")
        form.locator("input[name=reason]").fill("customer's parcel stuck")
        form.locator("button[type=submit]").click()

        row = page.locator("tr.command[data-command=open]").first
        assert "dora" in row.inner_text() and "customer's parcel stuck" in row.inner_text()
        wait_for_text(page, "Door A03 opened.")
        assert sim.snapshot()["A03"]["door_open"] is True
        assert sim.fire_counts()["A03"] == 1
        tile = page.locator("li.tile[data-compartment=A03]")
        wait_for_text(page, re.compile(r"A03.*Door: Open", re.S))
        assert "Door: Open" in tile.inner_text()
        events = page.locator("table.events").inner_text()
        assert "Door opened" in events
    with database.engine.connect() as conn:
        command = conn.execute(
            sa.select(schema.commands).where(schema.commands.c.command == "open")
        ).one()
        audit = conn.execute(
            sa.select(schema.console_audit).where(schema.console_audit.c.action == "command_sent")
        ).one()
    assert command.asked_by == "dora" and command.why == "customer's parcel stuck"
    assert command.ok is True and command.args == {"compartment": "A03"}
    assert audit.actor == "dora" and audit.kiosk == "KIOSK-1" and audit.target == command.id


def test_a_dispatcher_sees_a_kiosk_go_offline_and_back_and_acknowledges_its_alarm(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    with console_network(database, broker, tmp_path) as net, browser() as page:
        sign_in(page, net.url, "dora")
        row = page.locator("table.kiosks tbody tr", has_text="KIOSK-1")
        wait_for_text(page, re.compile(r"KIOSK-1\s+Online"))

        net.kiosk.kill9()  # a power cut: the broker tells its last will
        wait_for_text(page, re.compile(r"KIOSK-1\s+Offline"))
        page.goto(f"{net.url}/alarms")
        alarm = wait_for_element(page, "li.alarm", "Kiosk offline")
        assert "KIOSK-1" in alarm.inner_text()

        net.kiosk.start()
        page.goto(f"{net.url}/")
        wait_for_text(page, re.compile(r"KIOSK-1\s+Online"))
        assert "1" in row.locator("td").nth(5).inner_text()  # its alarm still waits for a person

        page.goto(f"{net.url}/alarms")
        alarm = page.locator("li.alarm", has_text="Kiosk offline").first
        alarm.locator("input[name=note]").fill("power cut at the station, back now")
        alarm.locator("button[type=submit]").click()
        assert page.locator("li.alarm").count() == 0  # none left to acknowledge
        page.goto(f"{net.url}/alarms?view=acknowledged")
        done = page.locator("li.alarm", has_text="Kiosk offline").first.inner_text()
        assert "Acknowledged by dora" in done
        assert "power cut at the station, back now" in done
        page.goto(f"{net.url}/audit")
        assert re.search(r"dora\s+Alarm acknowledged\s+KIOSK-1", text_of(page))
    with database.engine.connect() as conn:
        acked = conn.execute(
            sa.select(schema.alarms, schema.console_users.c.username).join(
                schema.console_users, schema.console_users.c.id == schema.alarms.c.acked_by
            )
        ).one()
    assert acked.kind == "kiosk_offline" and acked.username == "dora"
    assert acked.ack_note == "power cut at the station, back now" and acked.resolved_at


def test_a_parcel_is_found_by_its_barcode_and_its_hold_extended_at_the_kiosk(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    with console_network(database, broker, tmp_path) as net, browser() as page:
        cid, _code = store_parcel(net.kiosk, "JJD000777", size="M")
        before = _kiosk_parcel(net.kiosk, "JJD000777")["expires_at"]
        sign_in(page, net.url, "dora", "/parcels")
        page.fill("input[name=barcode]", "JJD000777")
        page.click("form[action='/parcels'] button[type=submit]")
        stay = page.locator("tr.stay[data-kiosk=KIOSK-1]")
        wait_for_text(page, "Stored")
        assert cid in stay.inner_text() and "Stored" in stay.inner_text()
        shown_before = stay.locator("td.deadline").inner_text()
        assert "Parcel stored" in page.locator("ol.timeline").inner_text()

        stay.locator("input[name=hours]").fill("24")
        stay.locator("button[type=submit]").click()
        net.kiosk.wait_for(
            lambda: _kiosk_parcel(net.kiosk, "JJD000777")["expires_at"] == before + 24 * 3600,
            what="the kiosk to hold the parcel 24 h longer",
        )
        wait_for_text(page, "Hold extended")  # the kiosk's event came back to the office
        assert stay.locator("td.deadline").inner_text() != shown_before
    with database.engine.connect() as conn:
        parcel = conn.execute(
            sa.select(schema.parcels).where(schema.parcels.c.barcode == "JJD000777")
        ).one()
    assert parcel.expires_at == pytest.approx(before + 24 * 3600)


def _kiosk_parcel(kiosk: object, barcode: str) -> dict[str, float]:
    from testkit.daemon import Daemon

    assert isinstance(kiosk, Daemon)
    (found,) = [p for p in kiosk.client().get("/v1/parcels")["parcels"] if p["barcode"] == barcode]
    return found  # type: ignore[no-any-return]
