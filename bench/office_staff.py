"""Revocation at the kiosks: from ``revoke_staff`` to the courier refused, at 1 and at 20
real kiosks online.

One Mosquitto (Debian's, loopback, the shipped config and ACL, no ``-v``), N kiosk
daemons (``python -m kiosk run`` on the sim driver, each with its own data dir, broker
account and fleet link), an office database (SQLite; ``--db postgresql`` for a cluster of
its own), and the office's own functions (``office.staff``) in this process, publishing
through a connection of their own on the operator's listener as ``locker-office staff``
does. Every kiosk is registered with the staff key derived from its ``kiosk.key``.

Each round: a courier allowed on all kiosks is created and enrolled (the run waits until
every kiosk holds that list), then revoked. ``t0`` is taken just before
``revoke_staff()``; each kiosk's ``staff_revoked`` event carries the kiosk's own time of
applying the list, in the transaction that ended the courier's sessions (one machine,
one clock), so ``applied - t0`` is the time from the operator's click to the kiosk
refusing. Then one sign-in of the courier is tried at every kiosk and must be refused,
and the kiosk's local courier signs in (which ends the run of wrong sign-ins).

Printed: ``revoke_staff`` itself (the database, N lists signed and sealed, N publishes
acknowledged), and applied-at-kiosk p50 and max over all kiosks and rounds, beside the
goal: every online kiosk refuses within 10 s. Also the kiosk's own PIN check (scrypt,
``kiosk.access.pins.verify_pin``) per second on one core of this machine: what a thief with a
kiosk's disk gets from each core (docs/security.md, "A stolen kiosk's disk").

    python bench/office_staff.py                     # ~3 min
    python bench/office_staff.py --quick             # 1 and 5 kiosks, 3 rounds
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common

from kiosk.access import pins
from kiosk.fleet import sealed
from kiosk.fleet.envelope import new_key
from kiosk.fleet.messages import Signer
from kiosk.protocol.client import ApiError
from office import staff
from office.config import MqttSection
from office.ingest.outgoing import CommandSender, OneShotPublisher
from office.store import migrate
from office.store.engine import make_engine
from testkit.broker import Broker, running_broker
from testkit.daemon import COURIER, Daemon
from testkit.postgres import running_postgres

GOAL_S = 10.0
KID = "ops-bench"
PIN = "583920"
OFFICE = ("office", "office-bench-1")


def kiosk_ids(n: int) -> list[str]:
    return [f"KIOSK-{i:02d}" for i in range(1, n + 1)]


@contextmanager
def kiosks(broker: Broker, ids: list[str], keyring: Path, folder: Path) -> Iterator[list[Daemon]]:
    """A linked daemon per id, all running until the end."""
    daemons: list[Daemon] = []
    try:
        for kiosk in ids:
            password = folder / f"{kiosk}.password"
            password.write_text(f"{kiosk}-secret\n")
            password.chmod(0o600)
            fleet = {"broker": f"{broker.host}:{broker.port}", "tls": False,
                     "password_file": str(password), "keyring": str(keyring),
                     "health_interval_s": 30.0, "reconnect_min_s": 0.2,
                     "reconnect_max_s": 1.0}  # fmt: skip
            root = Path(tempfile.mkdtemp(prefix="lk-", dir="/tmp"))
            daemon = Daemon(root, users=((COURIER, "courier"),), sizes=["S", "M"],
                            sections={"kiosk": {"id": kiosk}, "fleet": fleet,
                                      "doors": {"poll_hz": 5}})  # fmt: skip
            daemons.append(daemon)
            daemon.start(timeout=60)
        for daemon in daemons:
            daemon.wait_for(lambda d=daemon: state(d)["state"] == "connected", 60, "linked")
        yield daemons
    finally:
        for daemon in daemons:
            if daemon.proc is not None and daemon.proc.poll() is None:
                daemon.proc.kill()
                daemon.proc.wait(10)
            shutil.rmtree(daemon.root, ignore_errors=True)


def state(daemon: Daemon) -> dict[str, Any]:
    return daemon.client().get("/v1/status")["fleet"]  # type: ignore[no-any-return]


def staff_key(daemon: Daemon) -> str:
    key = (daemon.data_dir / "kiosk.key").read_bytes()
    return sealed.public_text(sealed.kiosk_staff_key(key))


def one_round(sender: CommandSender, daemons: list[Daemon], n: int) -> dict[str, Any]:
    name = f"courier-{n}"
    made = staff.create_staff(sender, name, "courier", staff.Scope.all(), actor="bench")
    assert made.enrolment is not None
    enrolled = staff.enrol_staff(sender, name, made.enrolment.code, PIN)
    wanted = {d.kiosk: d.version for d in enrolled.deliveries}
    for daemon in daemons:
        kiosk = daemon_id(daemon)
        daemon.wait_for(lambda d=daemon, k=kiosk: state(d)["staff"]["version"] >= wanted[k],
                        30, "the list with the courier")  # fmt: skip
    t0 = time.time()
    staff.revoke_staff(sender, name, actor="bench", why="bench")
    called = time.time() - t0
    applied = [applied_at(daemon, name) - t0 for daemon in daemons]
    refused = sum(was_refused(daemon, name) for daemon in daemons)
    return {"revoke_call_s": called, "applied_s": applied, "refused": refused}


def daemon_id(daemon: Daemon) -> str:
    return str(daemon.client().get("/v1/status")["kiosk"]["id"])


def applied_at(daemon: Daemon, name: str) -> float:
    def revoked() -> float | None:
        for event in daemon.events("staff_revoked"):
            if event["detail"]["user"] == name:
                return float(event["ts"])
        return None

    return float(daemon.wait_for(revoked, 60, f"{name} revoked"))


def was_refused(daemon: Daemon, name: str) -> bool:
    client = daemon.client()
    try:
        client.sign_in(PIN, user=name)
    except ApiError as exc:
        refused = exc.status == 401
    else:
        refused = False
    daemon.signed_in(COURIER)  # a right sign-in ends the run of wrong ones
    return refused


def one_count(args: argparse.Namespace, count: int, folder: Path, url: str) -> dict[str, Any]:
    ids = kiosk_ids(count)
    users = {**{k: f"{k}-secret" for k in ids}, OFFICE[0]: OFFICE[1]}
    key, public = new_key()
    keyring = folder / "fleet-keys.toml"
    keyring.write_text(f'[keys]\n{KID} = "{public}"\n')
    engine = make_engine(url)
    migrate.upgrade(engine)
    with ExitStack() as stack:
        broker = stack.enter_context(running_broker(folder / "broker", users, verbose=False))
        daemons = stack.enter_context(kiosks(broker, ids, keyring, folder))
        cfg = MqttSection(broker.host, broker.operator_port, OFFICE[0], OFFICE[1], tls=False)
        link = OneShotPublisher(cfg)
        stack.callback(link.close)
        sender = CommandSender(engine, link, Signer(key, KID))
        for daemon, kiosk in zip(daemons, ids, strict=True):
            staff.register_kiosk(sender, kiosk, staff_key(daemon), actor="bench")
        rounds = [one_round(sender, daemons, n) for n in range(args.rounds)]
    engine.dispose()
    applied = sorted(a for r in rounds for a in r["applied_s"])
    calls = sorted(r["revoke_call_s"] for r in rounds)
    return {
        "kiosks": count,
        "rounds": args.rounds,
        "revoke_call_p50_s": common.percentile(calls, 50),
        "revoke_call_max_s": calls[-1],
        "applied_p50_s": common.percentile(applied, 50),
        "applied_max_s": applied[-1],
        "refused": sum(r["refused"] for r in rounds),
        "tries": count * args.rounds,
    }


def scrypt_rate(seconds: float = 3.0) -> float:
    """The kiosk's PIN check (scrypt, its own parameters) per second on one core."""
    verifier = pins.hash_pin(PIN)
    start, checks = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        pins.verify_pin("000000", verifier)
        checks += 1
    return checks / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kiosks", default="1,20", help="kiosk counts to run (1,20)")
    parser.add_argument("--rounds", type=int, default=5, help="revocations per count (5)")
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--quick", action="store_true", help="1 and 5 kiosks, 3 rounds")
    parser.add_argument("--json", action="store_true", help="one JSON object, no tables")
    args = parser.parse_args(argv)
    if args.quick:
        args.kiosks, args.rounds = "1,5", 3
    folder = Path(tempfile.mkdtemp(prefix="lk-staff-", dir="/tmp"))
    machine = common.machine_info(folder)
    results = []
    try:
        with ExitStack() as stack:
            pg = stack.enter_context(running_postgres()) if args.db == "postgresql" else None
            for n, count in enumerate(int(c) for c in args.kiosks.split(",")):
                run = folder / f"run-{n}"
                run.mkdir()
                url = (pg.create_database(f"staff_{n}") if pg is not None
                       else f"sqlite:///{run / 'office.db'}")  # fmt: skip
                results.append(one_count(args, count, run, url))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    rate = scrypt_rate()
    if args.json:
        print(json.dumps({"machine": machine.rows(), "db": args.db, "results": results,
                          "scrypt_checks_per_s_one_core": rate}))  # fmt: skip
        return 0
    machine.print()
    rows = [
        (r["kiosks"], r["rounds"], f"{r['revoke_call_p50_s'] * 1000:.0f}",
         f"{r['revoke_call_max_s'] * 1000:.0f}", f"{r['applied_p50_s'] * 1000:.0f}",
         f"{r['applied_max_s'] * 1000:.0f}", f"{r['refused']}/{r['tries']}",
         common.verdict(r["applied_max_s"] <= GOAL_S and r["refused"] == r["tries"]))
        for r in results
    ]  # fmt: skip
    common.print_table(
        ["kiosks", "rounds", "revoke p50 ms", "revoke max ms", "applied p50 ms",
         "applied max ms", "refused", "goal <= 10 s"],
        rows,
        f"revoke_staff to the courier refused at every kiosk (office on {args.db})",
    )  # fmt: skip
    common.print_table(
        ["the kiosk's PIN check (scrypt n=2^14, r=8, p=1)", ""],
        [("per second on one core", f"{rate:.1f}"), ("each", f"{1000 / rate:.0f} ms")],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
