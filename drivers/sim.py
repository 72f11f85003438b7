"""The simulator driver: a board of the physical model in :mod:`hw_sim.model`.

Several ``sim`` boards of one config share one :class:`~hw_sim.model.Bank` (keyed by
its state file), and the first board to open starts the bank's fault-injection socket
(:mod:`hw_sim.control`); the last one to close stops it.

Options (``[[boards]]`` keys, validated by the config loader against :attr:`SimDriver.OPTIONS`):

``person``          ``"auto"`` (a simulated person uses every door that pops open) or
                    ``"manual"`` (tests open and close doors themselves).
``open_delay_s``    delay between a pulse and the door popping open.
``close_delay_s``   how long the auto person keeps a door open.
``item_sensors``    ``true``: the board reports whether each compartment holds an item;
                    ``false``: it has no item sensors (``item`` is ``None``), as a
                    Kerong board without its infrared inputs or a GPIO board without
                    ``item_pins``.
``state_file``, ``control_socket``, ``fire_log``
                    paths; empty means ``sim-state.json``, ``sim.sock`` and
                    ``sim-fires.log`` in the data dir. Without a data dir: nothing is
                    written and no socket is opened (unless a path is given).

The bank's settings come from the first board that opens it.

For discovery, the board's channels are the locks the bank has on it (``channel_count``
is the highest), configured in this driver's spec or added to the bank by someone else;
:meth:`SimDriver.pulse_channel` on a channel with nothing behind it fires nothing, as
an output with no lock wired to it would. The sim has no bus: ``scan_bus`` is
unsupported.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from drivers.base import BoardSpec, ChannelReading, DoorState, Driver
from drivers.errors import BoardOffline, DriverError
from hw_sim.control import ControlServer, start_control_server
from hw_sim.model import PERSON_MODES, Bank, BoardDead, shared_bank

__all__ = ["SimDriver"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")


@dataclass(eq=False)
class _Attachment:
    """The sim boards of one bank that are open now, and the bank's control server."""

    bank: Bank
    drivers: set[SimDriver] = field(default_factory=set)
    server: ControlServer | None = None


# Keyed by id(bank); the entry holds the bank, so the id cannot be reused while listed.
_ATTACHED: dict[int, _Attachment] = {}
_ATTACH_LOCK = threading.Lock()


class SimDriver(Driver):
    """A simulated lock board. The model times the pulse, as Kerong and Modbus boards do."""

    OPTIONS: ClassVar[dict[str, tuple[type, object]]] = {
        "person": (str, "auto"),
        "open_delay_s": (float, 0.0),
        "close_delay_s": (float, 2.0),
        "item_sensors": (bool, True),
        "state_file": (str, ""),
        "control_socket": (str, ""),
        "fire_log": (str, ""),
    }

    board_times_pulse = True

    def __init__(self, spec: BoardSpec) -> None:
        super().__init__(spec)
        if self._option("person") not in PERSON_MODES:
            raise DriverError(self.name, f"option person must be one of {PERSON_MODES}")
        self._locks = {channel.lock for channel in spec.channels}
        self._bank: Bank | None = None
        self._pulses = 0
        self._reads = 0
        self._errors = 0
        self._last_error: str | None = None

    @property
    def bank(self) -> Bank | None:
        """The bank this board is attached to while open (for tests)."""
        return self._bank

    def open(self) -> None:
        if self._bank is not None:
            return
        bank = shared_bank(
            self._path("state_file", "sim-state.json"),
            person=str(self._option("person")),
            open_delay_s=float(self._option("open_delay_s")),
            close_delay_s=float(self._option("close_delay_s")),
            fire_log=self._path("fire_log", "sim-fires.log"),
        )
        try:
            bank.add_board(self.name)
            for channel in self.spec.channels:
                bank.add_compartment(channel.compartment, self.name, channel.lock)
        except ValueError as exc:
            raise DriverError(self.name, str(exc)) from exc
        self._attach(bank)
        self._bank = bank

    def close(self) -> None:
        bank, self._bank = self._bank, None
        if bank is not None:
            self._detach(bank)

    def all_off(self) -> None:
        self._call(lambda bank: bank.all_off(self.name))

    def pulse(self, lock: int, seconds: float) -> None:
        if lock not in self._locks:
            raise DriverError(self.name, f"no lock {lock} on this board", channel=lock)
        self._call(lambda bank: bank.energise(self.name, lock, seconds), lock)
        self._pulses += 1

    def read(self) -> dict[int, ChannelReading]:
        raw = self._call(lambda bank: bank.sample(self.name))
        self._reads += 1
        sensed = bool(self._option("item_sensors"))
        return {
            lock: ChannelReading(
                DoorState.OPEN if is_open else DoorState.CLOSED, item if sensed else None
            )
            for lock, (is_open, item) in raw.items()
        }

    def stats(self) -> dict[str, Any]:
        return {
            "pulses": self._pulses,
            "reads": self._reads,
            "errors": self._errors,
            "last_error": self._last_error,
        }

    @property
    def channel_count(self) -> int:
        """The highest lock of this board in the bank (or in the config while closed)."""
        return max([*self._locks, *self._bank_locks()], default=0)

    def pulse_channel(self, channel: int, seconds: float) -> None:
        if not 1 <= channel <= self.channel_count:
            raise DriverError(self.name, f"no channel {channel} on this board", channel=channel)
        if channel in self._bank_locks():
            self._call(lambda bank: bank.energise(self.name, channel, seconds), channel)
        else:  # nothing wired: the output fires into nothing, but a dead board says so
            self._call(lambda bank: bank.sample(self.name), channel)
        self._pulses += 1

    def _bank_locks(self) -> list[int]:
        bank = self._bank
        if bank is None:
            return []
        return [c["lock"] for c in bank.snapshot().values() if c["board"] == self.name]

    def _call(self, action: Callable[[Bank], _T], channel: int | None = None) -> _T:
        """``action`` on the bank, its failures as errors of this board (and of ``channel``)."""
        bank = self._bank
        if bank is None:
            raise DriverError(self.name, "not open")
        try:
            return action(bank)
        except BoardDead as exc:
            self._count_error("not answering")
            raise BoardOffline(self.name, "not answering", channel=channel) from exc
        except LookupError as exc:
            self._count_error(str(exc))
            raise DriverError(self.name, str(exc), channel=channel) from exc

    def _count_error(self, message: str) -> None:
        self._errors += 1
        self._last_error = message

    def _option(self, key: str) -> Any:
        return self.spec.options.get(key, self.OPTIONS[key][1])

    def _path(self, key: str, default_name: str) -> Path | None:
        raw = str(self._option(key) or "")
        data_dir = self.spec.data_dir
        if raw:
            path = Path(raw).expanduser()
            return path if path.is_absolute() or data_dir is None else data_dir / path
        return data_dir / default_name if data_dir is not None else None

    def _attach(self, bank: Bank) -> None:
        with _ATTACH_LOCK:
            attachment = _ATTACHED.setdefault(id(bank), _Attachment(bank))
            attachment.drivers.add(self)
            socket_path = self._path("control_socket", "sim.sock")
            if attachment.server is None and socket_path is not None:
                attachment.server = _start_server(bank, socket_path)

    def _detach(self, bank: Bank) -> None:
        with _ATTACH_LOCK:
            attachment = _ATTACHED.get(id(bank))
            if attachment is None:
                return
            attachment.drivers.discard(self)
            if attachment.drivers:
                return
            del _ATTACHED[id(bank)]
            # Stopped under the lock: a board attaching meanwhile would bind a new
            # socket at the same path, which this stop would then unlink.
            if attachment.server is not None:
                attachment.server.stop()


def _start_server(bank: Bank, path: Path) -> ControlServer | None:
    # The socket is a test aid: a board without it still opens, locks and reads,
    # so a failure here is logged loudly rather than taking the board offline.
    try:
        return start_control_server(bank, path)
    except OSError as exc:
        log.error("sim control socket not started at %s: %s", path, exc)
        return None
