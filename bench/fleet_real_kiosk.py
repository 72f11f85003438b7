"""Part B of ``fleet_load.py``: one real kiosk's link, its backlog and its round trips.

A real daemon (``python -m kiosk run``, simulator, its own Mosquitto) linked with
``testkit/fleet.py``'s set-up. Before it starts, a backlog of events is written
into its event log through the product's ``Store`` (the link is its outbox); the drain
is timed from the daemon's start until ``/v1/status`` says ``fleet.unacked == 0``, while
an operator subscriber counts what arrives. Then signed command round trips with the
product's ``sign`` and ``Operator.publish``, and once more with Nagle's algorithm off
at the operator and the broker.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common

from kiosk.fleet.envelope import new_key, sign
from kiosk.fleet.net import no_delay
from kiosk.fleet.operator import Operator, topic
from kiosk.fleet.operator_config import OperatorConfig
from kiosk.store import Store
from testkit.broker import Broker, running_broker
from testkit.daemon import Daemon
from testkit.mqtt_peer import Peer

Figures = dict[str, Any]


class NoDelayOperator(Operator):
    """The operator's client with Nagle's algorithm off on its socket, as the link has it."""

    def _make_client(self) -> Any:
        client = super()._make_client()
        client.on_socket_open = no_delay
        return client


@contextmanager
def real_kiosk(
    folder: Path, backlog: int, nodelay: bool = False
) -> Iterator[tuple[Daemon, Broker, Any, Figures]]:
    """A linked daemon whose event log holds ``backlog`` unsent events when it starts.

    ``nodelay``: the broker sets TCP_NODELAY on its sockets (``set_tcp_nodelay true``).
    """
    from testkit.fleet import USERS, fleet_section, write_keyring

    out: Figures = {}
    folder.mkdir(parents=True, exist_ok=True)
    extra = "set_tcp_nodelay true\n" if nodelay else ""
    with running_broker(folder / "broker-b", USERS, extra_conf=extra, verbose=False) as broker:
        key, public = new_key()
        keyring = write_keyring(folder, public)
        sections = {"kiosk": {"id": "KIOSK-1"},
                    "fleet": fleet_section(broker, "KIOSK-1", keyring, folder)}  # fmt: skip
        root = Path(tempfile.mkdtemp(prefix="lk-", dir="/tmp"))
        daemon = Daemon(root, sections=sections)
        try:
            daemon.add_users()
            store = Store(daemon.data_dir / "kiosk.db")
            start = time.perf_counter()
            for i in range(backlog):
                store.log_event("bench_backlog", "info", None, None, n=i)
            out["backlog_write_s"] = time.perf_counter() - start
            store.close()
            yield daemon, broker, key, out
        finally:
            if daemon.proc is not None and daemon.proc.poll() is None:
                daemon.stop()
            shutil.rmtree(root, ignore_errors=True)


def drain(daemon: Daemon, broker: Broker, backlog: int, out: Figures) -> None:
    from testkit.fleet import USERS

    peer = Peer(broker, "operator", USERS["operator"])
    try:
        peer.subscribe("lk/v1/kiosk/KIOSK-1/events")
        start = time.perf_counter()
        daemon.start()
        ready = time.perf_counter()
        client = daemon.client()
        while client.get("/v1/status")["fleet"]["unacked"] != 0:
            if time.perf_counter() - start > 300:
                raise RuntimeError("the backlog did not drain in 300 s")
            time.sleep(0.02)
        done = time.perf_counter()
        bodies = _all_delivered(peer, backlog)
    finally:
        peer.close()
    seqs = [b["seq"] for b in bodies]
    out["backlog"] = backlog
    out["drain_from_start_s"] = done - start
    out["drain_from_ready_s"] = done - ready
    out["drain_per_s"] = backlog / (done - start)
    out["operator_received"] = len(set(seqs))
    out["operator_in_order"] = seqs == sorted(seqs)


def _all_delivered(peer: Peer, backlog: int, grace_s: float = 5.0) -> list[dict[str, Any]]:
    """The events the operator has, once the broker has passed on the backlog: the
    kiosk's last acknowledgement comes from the broker, and its last messages to the
    operator may still be on their way then. Waits at most ``grace_s`` for them."""
    deadline = time.perf_counter() + grace_s
    while True:
        bodies = peer.bodies("events")
        if len({b["seq"] for b in bodies}) >= backlog or time.perf_counter() > deadline:
            return bodies
        time.sleep(0.05)


def signed_round_trips(
    op: Operator, key: Any, count: int, only: str | None = None
) -> dict[str, Figures]:
    from testkit.fleet import KID

    op.subscribe([topic("KIOSK-1", "results")])
    kinds: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "selftest": [("selftest", {})] * count,
        "out_of_service + in_service": [
            ("out_of_service", {"compartment": "A01", "reason": "bench"}) if i % 2 == 0
            else ("in_service", {"compartment": "A01"}) for i in range(count)
        ],
    }  # fmt: skip
    out: dict[str, Figures] = {}
    for label, commands in kinds.items():
        if only is not None and label != only:
            continue
        times: list[float] = []
        refused = 0
        for command, args in commands:
            start = time.perf_counter()
            command_id = secrets.token_hex(8)
            envelope = sign(key, KID, "KIOSK-1", command, args, command_id=command_id)
            op.publish(topic("KIOSK-1", "commands"), envelope)
            for _name, body in op.messages(time.monotonic() + 15):
                if body.get("id") == command_id:
                    refused += body.get("ok") is not True
                    times.append(time.perf_counter() - start)
                    break
        times.sort()
        out[label] = {
            "round_trips": len(times),
            "refused": refused,
            **{f"p{p}_ms": common.percentile(times, p) * 1e3 for p in (50, 95, 99)},
            "max_ms": (times[-1] * 1e3) if times else float("nan"),
        }
    return out


def part_b(args: argparse.Namespace, folder: Path) -> Figures:
    with real_kiosk(folder, args.backlog) as (daemon, broker, key, out):
        drain(daemon, broker, args.backlog, out)
        config = OperatorConfig(source=Path("fleet_load"), host=broker.host,
                                port=broker.operator_port,
                                password="op-secret-1", tls=False)  # fmt: skip
        with Operator(config) as op:
            out["round_trips"] = signed_round_trips(op, key, args.round_trips)
    # The same without Nagle's algorithm on the operator's and the broker's sockets (the
    # link already sets TCP_NODELAY on its own): what the two settings are worth.
    with real_kiosk(folder / "nodelay", 0, nodelay=True) as (daemon, broker, key, _out):
        daemon.start()
        daemon.wait_for(lambda: daemon.client().get("/v1/status")["fleet"]["state"] == "connected",
                        20, "the link")  # fmt: skip
        config = OperatorConfig(source=Path("fleet_load"), host=broker.host,
                                port=broker.operator_port,
                                password="op-secret-1", tls=False)  # fmt: skip
        with NoDelayOperator(config) as op:
            nodelay = signed_round_trips(op, key, args.round_trips, only="selftest")
        out["round_trips"]["selftest, TCP_NODELAY at operator and broker"] = nodelay["selftest"]
    return out
