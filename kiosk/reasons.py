"""Stable codes for what the daemon says in English about doors and compartments.

A door's result in open-all or the self-test, and why a compartment is out of service,
are shown in English (``lockerctl``, the event log) beside a code from here, which a
screen in another language looks up in its own catalog. The store keeps the codes (and
only a person's own words as words); the English is made from a code where it is shown
and never parsed back. A code, once published, keeps its meaning; new ones may be added
(a client shows a generic line for a code it does not know).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NotRequired, TypedDict


class DoorResult(StrEnum):
    """``code`` of one door's result in an open-all or self-test job."""

    OPENED = "opened"
    OPENED_AND_CLOSED = "opened_and_closed"
    DID_NOT_OPEN = "did_not_open"
    NOT_CLOSED = "not_closed"  # with ``seconds``: how long the self-test waited
    BOARD_OFFLINE = "board_offline"
    BUSY = "busy"  # another door operation on this compartment
    ERROR = "error"  # anything else; ``detail`` has the daemon's English


RESULT_TEXTS = {
    DoorResult.OPENED: "opened",
    DoorResult.OPENED_AND_CLOSED: "opened and closed",
    DoorResult.DID_NOT_OPEN: "door did not open",
    DoorResult.NOT_CLOSED: "door not closed within {seconds:.0f} s",
    DoorResult.BOARD_OFFLINE: "board offline",
    DoorResult.BUSY: "busy with another operation",
}


class OosReason(StrEnum):
    """``reason_code`` of a compartment out of service."""

    DID_NOT_OPEN = "did_not_open"
    COURIER_REPORTED = "courier_reported"
    CHECK_AFTER_INTERRUPTED_DEPOSIT = "check_after_interrupted_deposit"
    REMOTE = "remote"  # the operator's network, without words of its own
    SELF_TEST = "self_test"  # with ``reason_detail``: the failed result's code (and seconds)
    TECHNICIAN = "technician"  # the reason a person typed or picked, as they gave it
    REPORTED_DOOR_WONT_OPEN = "reported_door_wont_open"  # a problem report at the screen
    REPORTED_DIRTY = "reported_dirty"
    REPORTED_DAMAGED = "reported_damaged"


OOS_TEXTS = {
    OosReason.DID_NOT_OPEN: "door did not open",
    OosReason.COURIER_REPORTED: "courier reported: door did not open",
    OosReason.CHECK_AFTER_INTERRUPTED_DEPOSIT: (
        "something inside after an interrupted deposit: check it"
    ),
    OosReason.REMOTE: "taken out of service remotely",
    OosReason.REPORTED_DOOR_WONT_OPEN: "reported at the screen: the door won't open",
    OosReason.REPORTED_DIRTY: "reported at the screen: the compartment is dirty",
    OosReason.REPORTED_DAMAGED: "reported at the screen: the compartment is damaged",
}


class ProblemReason(StrEnum):
    """``reason`` of a ``problem_reported`` event: what a person at the screen says is
    wrong with the compartment of their pickup (the first four) or deposit."""

    COMPARTMENT_EMPTY = "compartment_empty"
    PARCEL_DAMAGED = "parcel_damaged"
    WRONG_PARCEL = "wrong_parcel"
    DOOR_WONT_OPEN = "door_wont_open"
    COMPARTMENT_DIRTY = "compartment_dirty"
    COMPARTMENT_DAMAGED = "compartment_damaged"
    COMPARTMENT_OCCUPIED = "compartment_occupied"


CUSTOMER_PROBLEMS = (
    ProblemReason.COMPARTMENT_EMPTY,
    ProblemReason.PARCEL_DAMAGED,
    ProblemReason.WRONG_PARCEL,
    ProblemReason.DOOR_WONT_OPEN,
)
COURIER_PROBLEMS = (
    ProblemReason.COMPARTMENT_DIRTY,
    ProblemReason.COMPARTMENT_DAMAGED,
    ProblemReason.COMPARTMENT_OCCUPIED,
)
UNUSABLE = {
    ProblemReason.DOOR_WONT_OPEN: OosReason.REPORTED_DOOR_WONT_OPEN,
    ProblemReason.COMPARTMENT_DIRTY: OosReason.REPORTED_DIRTY,
    ProblemReason.COMPARTMENT_DAMAGED: OosReason.REPORTED_DAMAGED,
}
"""The reports that take the compartment out of service, and with which reason."""
SELF_TEST_PREFIX = "self-test: "


def result_text(code: DoorResult, seconds: float = 0.0) -> str:
    """The English ``detail`` of a door's result."""
    return RESULT_TEXTS[code].format(seconds=seconds)


def door_result(cid: str, code: DoorResult, detail: str = "", **extra: Any) -> dict[str, Any]:
    """One door's result for a job: ``ok``, the ``code``, the English ``detail``."""
    ok = code in (DoorResult.OPENED, DoorResult.OPENED_AND_CLOSED)
    text = detail or result_text(code, float(extra.get("seconds", 0)))
    return {"compartment": cid, "ok": ok, "code": str(code), "detail": text, **extra}


@dataclass(frozen=True)
class OutOfService:
    """Why a compartment is out of service, as the store keeps it: the code, and what
    goes with it. The English (:attr:`text`) is made from these where it is shown
    (lockerctl, the event log); nothing reads it back."""

    code: OosReason
    result: DoorResult | None = None  # SELF_TEST: the failed door result's code
    seconds: int | None = None  # SELF_TEST, NOT_CLOSED: how long the door was given
    words: str | None = None  # TECHNICIAN: as the person gave them; SELF_TEST, ERROR: the daemon's

    @classmethod
    def typed(cls, words: str) -> OutOfService:
        """The reason a person typed or picked (a technician, the operator's network)."""
        return cls(OosReason.TECHNICIAN, words=words)

    @classmethod
    def self_test(cls, code: DoorResult, detail: str, seconds: float | None) -> OutOfService:
        """A door the self-test failed: its result's code, English ``detail`` and
        ``seconds`` (as :func:`door_result` gave them). The detail is kept only where it
        is not the code's own text (an error in the daemon's words)."""
        whole = None if seconds is None else int(f"{seconds:.0f}")  # as the text says
        own = code in RESULT_TEXTS and detail == result_text(code, float(seconds or 0))
        return cls(OosReason.SELF_TEST, code, whole, None if own else detail)

    @property
    def text(self) -> str:
        """The English reason (``reason`` in the API, the ``out_of_service`` event)."""
        if self.code is OosReason.SELF_TEST:
            return SELF_TEST_PREFIX + self._result_text()
        if self.words is not None:
            return self.words
        return OOS_TEXTS.get(self.code, str(self.code))

    def _result_text(self) -> str:
        if self.words is not None:
            return self.words
        if self.result in RESULT_TEXTS:
            return result_text(self.result, float(self.seconds or 0))
        return str(self.result)

    def detail(self) -> ResultDetail | None:
        """``reason_detail``: the self-test's result code (and seconds), else None. A
        result told in the daemon's own words (not its code's text) reads ``error``, as
        a screen has nothing but the English to show for it."""
        if self.code is not OosReason.SELF_TEST:
            return None
        code = self.result if self.words is None and self.result else DoorResult.ERROR
        detail = ResultDetail(code=str(code))
        if self.seconds is not None:
            detail["seconds"] = self.seconds
        return detail


class ResultDetail(TypedDict):
    """``reason_detail`` of a compartment the self-test took out of service."""

    code: str
    seconds: NotRequired[int]


class ReasonCodes(TypedDict):
    """A compartment's ``reason_code`` and ``reason_detail``."""

    reason_code: str | None
    reason_detail: ResultDetail | None


def reason_codes(reason: OutOfService | None) -> ReasonCodes:
    """``reason_code`` and ``reason_detail`` of a compartment; both None in service."""
    if reason is None:
        return {"reason_code": None, "reason_detail": None}
    return {"reason_code": str(reason.code), "reason_detail": reason.detail()}


class CheckReason(StrEnum):
    """``check.reason`` of a compartment that is not handed out until a person has
    checked it (``lockerctl clear-check``). Independent of the compartment's state."""

    ITEM_UNEXPECTED = "item_unexpected"  # the item sensor sees something; no parcel recorded
    ITEM_MISSING = "item_missing"  # a parcel recorded; the item sensor sees nothing
    STORE_BEHIND = "store_behind"  # the database lost changes to it (its mark says so)
    CONTENTS_UNKNOWN = "contents_unknown"  # a new database: nobody knows what is inside
    # A deposit's door closed on an empty compartment and its courier did not say in
    # time whether the parcel is inside: nothing was stored, nobody notified.
    DEPOSIT_UNCONFIRMED = "deposit_unconfirmed"


CHECK_TEXTS = {
    CheckReason.ITEM_UNEXPECTED: "something inside, but no parcel recorded",
    CheckReason.ITEM_MISSING: "a parcel recorded, but the item sensor sees none",
    CheckReason.STORE_BEHIND: "the database lost changes to this compartment",
    CheckReason.CONTENTS_UNKNOWN: "new database: what is inside is unknown",
    CheckReason.DEPOSIT_UNCONFIRMED: "a deposit closed on an empty compartment, not confirmed",
}


def check_view(reason: str | None, detail: dict[str, Any], since: float | None) -> dict[str, Any]:
    """``{"check": ...}`` of a compartment: None, or its reason code, the English for it,
    since when and what was found."""
    if reason is None:
        return {"check": None}
    text = next((t for code, t in CHECK_TEXTS.items() if code == reason), reason)
    return {"check": {"reason": reason, "text": text, "since": since, "detail": detail}}
