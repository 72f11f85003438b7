"""What the office refuses before the database sees it, where no broker stands in between
(the shipped broker drops a message over 64 KiB itself: message_size_limit)."""

from __future__ import annotations

from office.received import Cleared, Rejected, parse
from office.vocab import RejectReason


def test_a_message_larger_than_any_kiosk_sends_is_refused_by_its_size_alone() -> None:
    refused = parse("lk/v1/kiosk/KIOSK-1/events", b'{"seq": 1, "pad": "' + b"x" * 70_000 + b'"}')
    assert isinstance(refused, Rejected)
    assert (refused.reason, refused.kiosk, refused.leaf) == (
        RejectReason.BAD_FIELD,
        "KIOSK-1",
        "events",
    )
    assert refused.detail == "70021 bytes, at most 65536" and refused.size == 70_021


def test_a_topic_that_is_no_kiosks_and_an_empty_retained_message() -> None:
    assert parse("lk/v1/kiosk/A/B/../events", b"{}").reason is RejectReason.UNKNOWN_TOPIC  # type: ignore[union-attr]
    assert parse("lk/v1/kiosk/KI#1/events", b"{}").reason is RejectReason.BAD_TOPIC  # type: ignore[union-attr]
    assert isinstance(parse("lk/v1/kiosk/KIOSK-1/presence", b""), Cleared)
