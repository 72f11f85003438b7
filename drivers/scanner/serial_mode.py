"""A barcode scanner in serial mode (``/dev/ttyACM*``): one line per scan (CR and/or
LF), read through pyserial."""

from __future__ import annotations

from drivers.errors import DriverError
from drivers.scanner.base import ScanCallback, Scanner

__all__ = ["SerialScanner"]


class SerialScanner(Scanner):
    kind = "serial"

    def __init__(self, device: str, on_scan: ScanCallback, baud: int = 9600) -> None:
        super().__init__(device, on_scan)
        self.baud = baud

    def read_scans(self) -> None:
        try:
            import serial
        except ImportError as exc:
            raise DriverError("scanner", "the serial scanner needs: pip install pyserial") from exc
        with serial.serial_for_url(self.device, self.baud, timeout=0.5) as port:
            buffer = b""
            while not self._stopping.is_set():
                buffer += port.read(256)
                while b"\n" in buffer or b"\r" in buffer:
                    cut = min(i for i in (buffer.find(b"\n"), buffer.find(b"\r")) if i >= 0)
                    line, buffer = buffer[:cut], buffer[cut + 1 :]
                    self.deliver(line.decode("latin-1"))
                buffer = buffer[-4096:]
