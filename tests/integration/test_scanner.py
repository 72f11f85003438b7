"""A serial barcode scanner on a pseudo-terminal: each scanned line reaches the
touchscreen's stream on the touchscreen's own socket, and neither the ordinary event
stream, nor a client of the API socket, nor the daemon's log (a scan may be a pickup
code)."""

from __future__ import annotations

import pytest

from kiosk.api import TOUCHSCREEN_ONLY
from kiosk.protocol.client import ApiError
from testkit.daemon import running_daemon
from testkit.scanner import StreamReader, is_event, is_scan, pty_scanner

BARCODE = "]C1JJD0099887766554433"


def test_a_scan_reaches_the_touchscreen_stream_only_and_not_the_log() -> None:
    with pty_scanner() as scanner, running_daemon(sections=scanner.section) as daemon:
        # after=0 replays the log first: once kiosk_started is read, each is subscribed.
        with pytest.raises(ApiError) as refused:  # the API socket's group is not the screen
            next(daemon.client().stream("/v1/touchscreen/stream?after=0"))
        assert (refused.value.status, refused.value.message) == (403, TOUCHSCREEN_ONLY)
        touchscreen = StreamReader(daemon.touchscreen().stream("/v1/touchscreen/stream?after=0"))
        reader = StreamReader(daemon.client().stream("/v1/stream?after=0"))
        for stream in (touchscreen, reader):
            stream.wait_for(is_event("kiosk_started"), what="the stream to connect")
        daemon.wait_for(lambda: "reading the serial scanner" in daemon.log(), what="scanner")
        scanner.scan(BARCODE)
        assert touchscreen.wait_for(is_scan, what="the scan")["text"] == BARCODE
        daemon.signed_in()  # published after the scan: the reader sees it after any scan
        reader.wait_for(is_event("signed_in"), what="the sign-in after the scan")
        assert not [m for m in reader.messages if is_scan(m)]
        assert not [m for m in reader.messages if BARCODE in str(m)]
        assert "JJD0099887766554433" not in daemon.log()
