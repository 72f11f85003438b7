"""The office's vocabularies, declared once and stored as codes.

People's words for these codes belong to the console (in English and German); the
store and the ingest speak only codes.
"""

from __future__ import annotations

from enum import StrEnum


class AlarmKind(StrEnum):
    """What an alarm in the inbox is about."""

    FORCED_OPEN = "forced_open"
    DOOR_DID_NOT_OPEN = "door_did_not_open"
    DOOR_LEFT_OPEN = "door_left_open"
    BOARD_OFFLINE = "board_offline"
    BRUTE_FORCE = "brute_force_suspected"
    GUARD_TRIPPED = "guard_tripped"
    PROBLEM_REPORT = "problem_report"
    KIOSK_OFFLINE = "kiosk_offline"
    KIOSK_ALARM = "kiosk_alarm"
    """Any other event the kiosk itself marked ``alarm`` (a notification given up...)."""


class ParcelState(StrEnum):
    """A parcel's state at one kiosk, as the kiosk's events told it."""

    ANNOUNCED = "ANNOUNCED"
    STORED = "STORED"
    PICKED_UP = "PICKED_UP"
    EXPIRED = "EXPIRED"
    RETURNED = "RETURNED"
    CANCELLED = "CANCELLED"


class CompartmentState(StrEnum):
    AVAILABLE = "AVAILABLE"
    HELD = "HELD"
    OCCUPIED = "OCCUPIED"
    OUT_OF_SERVICE = "OUT_OF_SERVICE"


class DoorState(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"
    UNKNOWN = "UNKNOWN"


class Role(StrEnum):
    """A console account's role; each includes what the one before it may do."""

    VIEWER = "viewer"
    DISPATCHER = "dispatcher"
    ADMIN = "admin"


class StaffRole(StrEnum):
    COURIER = "courier"
    TECHNICIAN = "technician"


class RejectReason(StrEnum):
    """Why the ingest refused a message (stored in ``ingest_rejects``, never its content)."""

    BAD_TOPIC = "bad_topic"
    NOT_JSON = "not_json"
    TOO_DEEP = "too_deep"
    NOT_AN_OBJECT = "not_an_object"
    WRONG_KIOSK = "wrong_kiosk"
    BAD_FIELD = "bad_field"
    UNKNOWN_TOPIC = "unknown_topic"
    STORE_REFUSED = "store_refused"


class ConsoleAction(StrEnum):
    """What a line of the console's audit records (``console_audit.action``)."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGIN_THROTTLED = "login_throttled"
    LOGOUT = "logout"
    ALARM_ACKNOWLEDGED = "alarm_acknowledged"
    COMMAND_SENT = "command_sent"
    REFUSED = "refused"
    """A page or an action the account's role or sites do not allow."""


class Command(StrEnum):
    """The signed messages a person may send from the console (kiosk.fleet.messages)."""

    OPEN = "open"
    OUT_OF_SERVICE = "out_of_service"
    IN_SERVICE = "in_service"
    EXTEND = "extend"
    CANCEL = "cancel_announcement"
    SELFTEST = "selftest"
    RESEND = "resend_events"
    ANNOUNCE = "announce"
