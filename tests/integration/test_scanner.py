"""A serial barcode scanner on a pseudo-terminal: each scanned line reaches the front
ends on the event stream, and never the daemon's log."""

from __future__ import annotations

import os
import pty
import threading
import tty

from tests.support.daemon import running_daemon


def test_a_serial_scan_reaches_the_event_stream_and_not_the_log() -> None:
    master, slave = pty.openpty()
    tty.setraw(slave)
    try:
        sections = {"scanner": {"backend": "serial", "device": os.ttyname(slave), "baud": 9600}}
        with running_daemon(sections=sections) as daemon:
            seen: list[dict[str, object]] = []
            got = threading.Event()

            def listen() -> None:
                for message in daemon.client().stream():
                    if message.get("type") == "scan":
                        seen.append(message)
                        got.set()
                        return

            threading.Thread(target=listen, daemon=True).start()
            daemon.wait_for(lambda: "reading the serial scanner" in daemon.log(), what="scanner")
            for _ in range(50):  # the stream may connect after the first write
                os.write(master, b"]C1JJD0099887766554433\r\n")
                if got.wait(0.2):
                    break
            assert seen[0]["text"] == "]C1JJD0099887766554433"
            assert "JJD0099887766554433" not in daemon.log()
    finally:
        os.close(master)
        os.close(slave)
