"""A network path that a test can cut: a TCP forwarder on loopback in front of a port.

A kiosk's link is pointed at :attr:`Path.port` instead of the broker's. :meth:`Path.cut`
takes the kiosk off the network as a pulled cable or a dead mobile link would (every
connection through it closed, new ones refused) while the broker and everyone else stay
up; :meth:`Path.mend` lets it connect again, over a slow link if asked (every packet held
``latency_s``, as on a poor mobile network), so what follows a reconnect can be seen
happening in order.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Path:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.latency_s = 0.0
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._listen()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                inside, _ = listener.accept()
            except OSError:
                return  # cut or closed
            try:
                outside = socket.create_connection(self.target, timeout=5)
            except OSError:
                inside.close()
                continue
            with self._lock:
                self._pairs.append((inside, outside))
            threading.Thread(target=self._pump, args=(inside, outside), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(a, selectors.EVENT_READ, b)
            sel.register(b, selectors.EVENT_READ, a)
            while not self._stop.is_set():
                try:
                    for key, _ in sel.select(0.2):
                        src: socket.socket = key.fileobj  # type: ignore[assignment]
                        data = src.recv(65536)
                        if not data:
                            raise OSError("closed")
                        if self.latency_s:
                            time.sleep(self.latency_s)
                        key.data.sendall(data)
                except (OSError, ValueError):  # closed here, by the other side, or cut
                    self._close(a, b)
                    return

    def _close(self, a: socket.socket, b: socket.socket) -> None:
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        with self._lock:
            if (a, b) in self._pairs:
                self._pairs.remove((a, b))

    def cut(self) -> None:
        """Every connection through the path closed, and new ones refused."""
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would leave
            # the socket listening until that accept returned
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            pairs = list(self._pairs)
        for a, b in pairs:
            self._close(a, b)

    def mend(self, latency_s: float = 0.0) -> None:
        """Connections may pass again (on the same port), each packet ``latency_s`` late."""
        self.latency_s = latency_s
        if self._listener is None:
            self._listen()

    def close(self) -> None:
        self._stop.set()
        self.cut()


@contextmanager
def cuttable(host: str, port: int) -> Iterator[Path]:
    path = Path(host, port)
    try:
        yield path
    finally:
        path.close()
