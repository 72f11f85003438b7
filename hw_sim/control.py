"""Fault injection from other processes: a JSON-lines server on a Unix socket.

One request per line, one reply per line::

    -> {"op": "jam", "compartment": "A01"}
    <- {"ok": true, "result": null}
    -> {"op": "jam", "compartment": "Z99"}
    <- {"ok": false, "error": "unknown compartment 'Z99'"}

Integration tests run the daemon as a subprocess and reach its simulated bank with
:class:`SimControl`. A server may be given ops of its own beside :data:`OPS` (the
emulators of ``locker-kiosk sim``: ``unlock_reply``). The socket is a test aid: mode 0660,
no authentication beyond the file's permissions.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import stat
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hw_sim.model import Bank

__all__ = ["OPS", "ControlServer", "SimControl", "SimControlError", "start_control_server"]

log = logging.getLogger(__name__)

_Op = Callable[[Bank, dict[str, Any]], Any]

OPS: dict[str, _Op] = {
    "ping": lambda bank, r: "pong",
    "jam": lambda bank, r: bank.jam(r["compartment"]),
    "unjam": lambda bank, r: bank.unjam(r["compartment"]),
    "leave_open": lambda bank, r: bank.leave_open(r["compartment"], bool(r.get("value", True))),
    "force_open": lambda bank, r: bank.force_open(r["compartment"]),
    "open_door": lambda bank, r: bank.open_door(r["compartment"]),
    "close_door": lambda bank, r: bank.close_door(r["compartment"]),
    "set_item": lambda bank, r: bank.set_item(r["compartment"], bool(r["value"])),
    "flap": lambda bank, r: bank.flap(
        r["compartment"], float(r["seconds"]), float(r.get("hz", 20.0))
    ),
    "kill_board": lambda bank, r: bank.kill_board(r["board"]),
    "revive_board": lambda bank, r: bank.revive_board(r["board"]),
    "snapshot": lambda bank, r: bank.snapshot(),
    "set_person": lambda bank, r: bank.set_person(r["mode"]),
    "fire_counts": lambda bank, r: bank.fire_counts(),
    "coil_history": lambda bank, r: bank.coil_history(r["board"]),
}


def handle_request(bank: Bank, line: bytes | str, ops: Mapping[str, _Op] = OPS) -> dict[str, Any]:
    """Answer one request line with ``ops``; never raises."""
    try:
        request = json.loads(line)
        if not isinstance(request, dict):
            raise ValueError("a request is a JSON object")
        op = ops.get(str(request.get("op")))
        if op is None:
            return {"ok": False, "error": f"unknown op {request.get('op')!r}"}
        return {"ok": True, "result": op(bank, request)}
    except KeyError as exc:
        return {"ok": False, "error": f"missing field {exc.args[0]!r}"}
    except (LookupError, ValueError, TypeError) as exc:
        return {"ok": False, "error": str(exc)}
    except Exception as exc:
        log.exception("sim control request failed: %r", line)
        return {"ok": False, "error": f"internal error: {exc}"}


class _Handler(socketserver.StreamRequestHandler):
    server: ControlServer

    def handle(self) -> None:
        for line in self.rfile:
            if not line.strip():
                continue
            reply = handle_request(self.server.bank, line, self.server.ops)
            self.wfile.write(json.dumps(reply).encode() + b"\n")
            self.wfile.flush()


class ControlServer(socketserver.ThreadingUnixStreamServer):
    """The fault-injection server of one bank (:data:`OPS`, and ``ops`` of its own).
    :meth:`stop` is idempotent."""

    daemon_threads = True

    def __init__(self, bank: Bank, path: str | Path, ops: Mapping[str, _Op] | None = None) -> None:
        self.bank = bank
        self.ops = {**OPS, **(ops or {})}
        self.path = Path(path)
        self._thread: threading.Thread | None = None
        self._stopped = False
        super().__init__(str(self.path), _Handler)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sim-control:{self.path.name}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
        self.server_close()
        self.path.unlink(missing_ok=True)


def start_control_server(
    bank: Bank, path: str | Path, ops: Mapping[str, _Op] | None = None
) -> ControlServer:
    """Serve ``bank`` (and ``ops`` besides :data:`OPS`) on a Unix socket at ``path`` (a
    stale socket file is replaced)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_socket(path)
    server = ControlServer(bank, path, ops)
    os.chmod(path, 0o660)
    server.start()
    log.info("sim control socket at %s", path)
    return server


def _remove_stale_socket(path: Path) -> None:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise FileExistsError(f"{path} exists and is not a socket")
    path.unlink()


class SimControlError(Exception):
    """The simulator refused a request (unknown compartment, bad argument...)."""


class SimControl:
    """Client of a :class:`ControlServer`: one method per op.

    Each call opens its own connection, and a missing or refusing socket is retried for
    ``timeout`` seconds, so a client survives the daemon restarting under it.
    """

    def __init__(self, path: str | Path, timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.timeout = timeout

    def call(self, op: str, **args: Any) -> Any:
        """Send one request; return its ``result`` or raise :class:`SimControlError`."""
        with self._connect() as sock:
            sock.sendall(json.dumps({"op": op, **args}).encode() + b"\n")
            with sock.makefile("rb") as reader:
                line = reader.readline()
        if not line:
            raise ConnectionError(f"sim control at {self.path} closed the connection")
        reply = json.loads(line)
        if not reply.get("ok"):
            raise SimControlError(reply.get("error", "unknown error"))
        return reply.get("result")

    def _connect(self) -> socket.socket:
        deadline = time.monotonic() + self.timeout
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(str(self.path))
                return sock
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)
            except BaseException:
                sock.close()
                raise

    def ping(self) -> bool:
        return bool(self.call("ping") == "pong")

    def jam(self, compartment: str) -> None:
        self.call("jam", compartment=compartment)

    def unjam(self, compartment: str) -> None:
        self.call("unjam", compartment=compartment)

    def leave_open(self, compartment: str, value: bool = True) -> None:
        self.call("leave_open", compartment=compartment, value=value)

    def force_open(self, compartment: str) -> None:
        self.call("force_open", compartment=compartment)

    def open_door(self, compartment: str) -> None:
        self.call("open_door", compartment=compartment)

    def close_door(self, compartment: str) -> None:
        self.call("close_door", compartment=compartment)

    def set_item(self, compartment: str, value: bool) -> None:
        self.call("set_item", compartment=compartment, value=value)

    def flap(self, compartment: str, seconds: float, hz: float = 20.0) -> None:
        self.call("flap", compartment=compartment, seconds=seconds, hz=hz)

    def kill_board(self, board: str) -> None:
        self.call("kill_board", board=board)

    def revive_board(self, board: str) -> None:
        self.call("revive_board", board=board)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = self.call("snapshot")
        return result

    def set_person(self, mode: str) -> None:
        self.call("set_person", mode=mode)

    def fire_counts(self) -> dict[str, int]:
        result: dict[str, int] = self.call("fire_counts")
        return result

    def set_unlock_reply(self, value: bool) -> None:
        """Whether the emulated Kerong boards of ``locker-kiosk sim`` answer an unlock."""
        self.call("unlock_reply", value=value)

    def coil_history(self, board: str) -> list[tuple[int, float, float]]:
        """``(lock, on, off)`` of every firing of ``board``'s coils (:meth:`Bank.coil_history`),
        on the bank's clock (``time.monotonic`` unless the bank was given another)."""
        return [
            (int(lock), float(on), float(off))
            for lock, on, off in self.call("coil_history", board=board)
        ]
