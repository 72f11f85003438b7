"""The technician's tools for the kiosk's buses, beside the running daemon: scan every bus
for every kind of board, and trace one board's frames.

**Scanning.** The config's serial boards make its buses (the boards on one port). Each
bus is asked, address by address, for every kind of board its protocol has
(:func:`drivers.bus_scan.board_kinds`: a Kerong bus for a CU16 at 0-15, a Modbus bus
for a relay board at 1-32, and whatever kinds the drivers list later), at the bus's own
baud, one exchange at a time beside the boards' polling. :meth:`BusTools.start_scan` is
a job like the self-test (one step per bus and kind, each a progress message); the
older :meth:`BusTools.scan_bus` answers for one board's bus at once. Each scanned bus is
a ``bus_scanned`` event. A scan at other bauds needs the bus to itself:
``locker-kiosk scan-port``, with the daemon stopped.

**Tracing.** :meth:`BusTools.trace` switches the wire trace (:mod:`drivers.wire_trace`,
installed by the daemon with the config's ``[trace]`` bounds) on or off for one board
with a bus, and logs who did (``wire_trace_on``, ``wire_trace_off``). Only a board of
the config with a bus can be traced; nothing else passes the shared port the trace
hangs on, so no scanner's input can get into it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from drivers import wire_trace
from drivers.base import BoardKind, BusClaim
from drivers.bus_scan import board_kinds, scan
from drivers.errors import DriverError
from drivers.wire_trace import WireTrace
from kiosk.access.sessions import Session
from kiosk.config import Config
from kiosk.core import Kiosk
from kiosk.errors import ConflictError, InvalidInput, NotFound
from kiosk.protocol.events import EventKind, JobKind, Severity
from kiosk.protocol.stream import StreamKind
from kiosk.protocol.views import BusAddress, BusScan, TraceView
from kiosk.technician import Job, Technician
from kiosk.technician.board_tools import bus_members

__all__ = ["BusTools", "start_wire_trace", "stop_wire_trace"]

log = logging.getLogger(__name__)

Members = dict[int, tuple[str, str]]


@dataclass(frozen=True)
class _Bus:
    """One bus of the config: its port as the first board names it, what it speaks at
    which settings, and its boards."""

    port: str
    claim: BusClaim
    boards: tuple[str, ...]

    @property
    def baud(self) -> int:
        return int(str(self.claim.settings.get("baud", 0)))

    @property
    def rs485(self) -> bool:
        return bool(self.claim.settings.get("rs485", False))


class BusTools:
    """Scans and the wire trace for the daemon's API."""

    def __init__(self, kiosk: Kiosk, tech: Technician) -> None:
        self.kiosk = kiosk
        self.tech = tech
        self._specs = {spec.name: spec for spec in kiosk.config.board_specs()}

    # -- the buses of the config ------------------------------------------------------

    def _claim(self, board: str) -> BusClaim | None:
        if board not in self._specs:
            raise NotFound(f"no board {board!r} in the config")
        return self.kiosk.hw.safety.driver(board).bus

    def _buses(self, boards: Sequence[str] | None) -> list[_Bus]:
        """The buses of ``boards`` (default: every board with a bus), in config order."""
        names = list(dict.fromkeys(boards or self._specs))
        wanted = {claim.key for name in names if (claim := self._claim(name)) is not None}
        found: dict[str, _Bus] = {}
        for name in self._specs:
            claim = self._claim(name)
            if claim is None or claim.key not in wanted:
                continue
            bus = found.setdefault(claim.key, _Bus(claim.port, claim, ()))
            found[claim.key] = _Bus(bus.port, bus.claim, (*bus.boards, name))
        return list(found.values())

    def _members(self, bus: _Bus) -> Members:
        return bus_members(self._specs.values(), self._specs[bus.boards[0]])

    def _no_bus(self, board: str, what: str, command: str) -> InvalidInput:
        driver = self._specs[board].driver
        return InvalidInput(
            f"Board {board!r} uses the {driver} driver, which has no bus to {what}: "
            f"{command} works on kerong and modbus boards."
        )

    # -- one board's bus, at once -----------------------------------------------------

    async def scan_bus(self, session: Session, board: str) -> BusScan:
        """The addresses answering on ``board``'s bus to any kind of board, each with
        the kind and the configured board it is (or ``None``), and the configured
        boards of that bus that did not answer."""
        if self._claim(board) is None:
            raise self._no_bus(board, "scan", "scan-bus")
        (bus,) = self._buses([board])
        members = self._members(bus)
        found: dict[int, list[BoardKind]] = {}
        for kind in board_kinds(bus.claim.protocol):
            for address in await self._scan(bus, kind):
                found.setdefault(address, []).append(kind)
        self._log(session, bus, found)
        spec = self._specs[board]
        return {
            "board": board,
            "driver": spec.driver,
            "port": spec.resolve_port(str(spec.options.get("port", ""))),
            "addresses": [_entry(a, members, found[a]) for a in sorted(found)],
            "missing": [_entry(a, members) for a in sorted(members) if a not in found],
        }

    async def _scan(self, bus: _Bus, kind: BoardKind) -> list[int]:
        try:
            return await asyncio.to_thread(scan, bus.port, kind, baud=bus.baud, rs485=bus.rs485)
        except DriverError as exc:
            raise ConflictError(
                f"The bus on {bus.port} cannot be scanned: {exc.reason}", "bus_unavailable"
            ) from exc

    def _log(self, session: Session, bus: _Bus, found: dict[int, list[BoardKind]]) -> None:
        kinds = {str(a): [k.name for k in ks] for a, ks in sorted(found.items())}
        self.kiosk.store.log_event(EventKind.BUS_SCANNED, Severity.INFO, session.user, None,
                                   board=bus.boards[0], boards=list(bus.boards),
                                   found=sorted(found), kinds=kinds)  # fmt: skip

    # -- every bus, as a job ----------------------------------------------------------

    def start_scan(self, session: Session, boards: Sequence[str] | None = None) -> Job:
        """Scan the buses of ``boards`` (default: every bus of the config) for every
        kind of board: a job with a step per bus and kind."""
        for name in boards or []:
            if self._claim(name) is None:
                raise self._no_bus(name, "scan", "scan-bus")
        buses = self._buses(boards)
        if not buses:
            named = ", ".join(boards or []) or "the config"
            raise InvalidInput(f"No board of {named} has a bus to scan (sim and gpio have none).")
        steps = [(bus, kind) for bus in buses for kind in board_kinds(bus.claim.protocol)]
        labels = [f"{bus.port} {kind.name}" for bus, kind in steps]
        return self.tech.start_job(JobKind.BUS_SCAN, labels, self._run(session, steps))

    def _run(
        self, session: Session, steps: list[tuple[_Bus, BoardKind]]
    ) -> Callable[[Job], Awaitable[None]]:
        async def run(job: Job) -> None:
            found: dict[str, dict[int, list[BoardKind]]] = {}
            for index, (bus, kind) in enumerate(steps):
                heard = found.setdefault(bus.claim.key, {})
                last = index + 1 == len(steps) or steps[index + 1][0] is not bus
                try:
                    for address in await self._scan(bus, kind):
                        heard.setdefault(address, []).append(kind)
                    error = None
                except ConflictError as exc:
                    error = str(exc)
                self._record(job, _step_result(bus, kind, self._members(bus), heard, last, error))
                if last:
                    self._log(session, bus, heard)

        return run

    def _record(self, job: Job, result: dict[str, Any]) -> None:
        job.results.append(result)
        job.changed.set()
        progress = {"id": job.id, "kind": job.kind, "done": len(job.results), "total": job.total}
        self.kiosk.bus.publish({"type": StreamKind.JOB, **progress, **result})

    # -- the wire trace ---------------------------------------------------------------

    def trace(self, session: Session, board: str, on: bool) -> TraceView:
        """Switch the wire trace on or off for ``board``; the trace's view after."""
        if self._claim(board) is None:
            raise self._no_bus(board, "trace", "trace")
        trace = _installed()
        kind = EventKind.WIRE_TRACE_ON if on else EventKind.WIRE_TRACE_OFF
        note = f" by {session.user}"
        if on:
            trace.start(board, note)
            if trace.error is not None:
                why = f"The trace cannot be written: {trace.error}"
                raise ConflictError(why, "trace_unwritable")
        elif board in trace.boards:
            trace.stop(board, note)
        else:
            return self.trace_view()
        self.kiosk.store.log_event(kind, Severity.INFO, session.user, None, board=board,
                                   file=str(trace.path))  # fmt: skip
        return self.trace_view()

    def trace_view(self) -> TraceView:
        """Which boards are traced, where to, within what bounds."""
        trace = _installed()
        return {
            "boards": sorted(trace.boards),
            "file": str(trace.path),
            "size": trace.size(),
            "max_bytes": trace.max_bytes,
            "keep": trace.keep,
            "error": trace.error,
        }


def start_wire_trace(config: Config) -> WireTrace:
    """The daemon's wire trace, off for every board, installed for the shared ports."""
    section = config.trace
    trace = WireTrace(section.file_in(config.kiosk.data_dir), section.max_bytes, section.keep)
    wire_trace.install(trace)
    return trace


def stop_wire_trace(trace: WireTrace) -> None:
    """Every board off, the file closed, the trace uninstalled."""
    wire_trace.install(None)
    trace.close()


def _installed() -> WireTrace:
    trace = wire_trace.current()
    if trace is None:
        raise ConflictError("The wire trace is not set up in this daemon.", "no_trace")
    return trace


def _entry(address: int, members: Members, kinds: Sequence[BoardKind] = ()) -> BusAddress:
    name, role = members.get(address, (None, None))
    entry: BusAddress = {"address": address, "board": name, "role": role}
    if kinds:
        entry["kinds"] = [kind.name for kind in kinds]
    return entry


def _step_result(
    bus: _Bus,
    kind: BoardKind,
    members: Members,
    heard: dict[int, list[BoardKind]],
    last: bool,
    error: str | None,
) -> dict[str, Any]:
    """One step's result: the addresses ``kind`` answered at on ``bus``; on the bus's
    last step, its configured boards that answered to no kind (``missing``)."""
    mine = sorted(a for a, kinds in heard.items() if kind in kinds)
    missing = [_entry(a, members) for a in sorted(members) if a not in heard] if last else []
    count = f"{len(mine)} answering" if mine else "none answering"
    detail = f"not scanned: {error}" if error else count
    if missing:
        detail += "; not answering: " + ", ".join(_member(m) for m in missing)
    first, end = kind.addresses[0], kind.addresses[-1]
    return {
        "compartment": f"{bus.port} {kind.name}",
        "ok": error is None and not missing,
        "detail": detail,
        "port": bus.port,
        "protocol": bus.claim.protocol,
        "baud": bus.baud,
        "boards": list(bus.boards),
        "kind": kind.name,
        "driver": kind.driver,
        "asked": f"{first}-{end}",
        "addresses": [_entry(a, members, [kind]) for a in mine],
        "missing": missing,
    }


def _member(entry: BusAddress) -> str:
    where = f"address {entry['address']}"
    if entry.get("role") == "door inputs":
        return f"{where} (door inputs of board {entry['board']!r})"
    return f"{where} (board {entry['board']!r})"
