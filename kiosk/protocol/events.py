"""The event log's vocabulary: every kind of event the daemon writes, and how grave it is.

Declared once, here, where the front ends may import it (the touchscreen names each kind
in its event log), and typed into every writer (``Store.log_event``, the fleet gate's
``note`` and ``refuse``), so a kind that is not a member is a type error, not a new word
on the wire. A member's value is what is stored, sent to the network and shown by the
API: a value, once written, keeps its meaning.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "EventKind",
    "ItemCheck",
    "JobKind",
    "OpStep",
    "Severity",
    "item_check_kind",
    "job_finished",
    "job_started",
]


class Severity(StrEnum):
    """How much an event asks of the operator."""

    INFO = "info"
    WARNING = "warning"
    ALARM = "alarm"


class EventKind(StrEnum):
    """What happened. Sorted by value; a technician's jobs have one member per job and
    step (``self-test_started``), which :func:`job_started` and :func:`job_finished`
    pick."""

    ANNOUNCEMENT_CANCELLED = "announcement_cancelled"
    ANNOUNCEMENT_REFUSED = "announcement_refused"
    BOARD_OFFLINE = "board_offline"
    BOARD_ONLINE = "board_online"
    BOARD_STILL_OFFLINE = "board_still_offline"
    BRUTE_FORCE_SUSPECTED = "brute_force_suspected"
    BUS_SCAN_FINISHED = "bus-scan_finished"
    BUS_SCAN_STARTED = "bus-scan_started"
    BUS_SCANNED = "bus_scanned"
    CLOCK_CONFIRMED = "clock_confirmed"
    CLOCK_JUMP = "clock_jump"
    CLOCK_RETURNED = "clock_returned"
    CLOCK_SYNCHRONISED = "clock_synchronised"
    CODE_REFUSED_LOCKED = "code_refused_locked"
    COMPARTMENT_CHECK_CLEARED = "compartment_check_cleared"
    COMPARTMENT_FREED = "compartment_freed"
    COMPARTMENT_HELD = "compartment_held"
    COMPARTMENT_NEEDS_CHECK = "compartment_needs_check"
    CUSTOMER_NEEDS_HELP = "customer_needs_help"
    DEPOSIT_NEEDS_CHECK = "deposit_needs_check"
    DEPOSIT_UNCONFIRMED = "deposit_unconfirmed"
    DISCOVER_FINISHED = "discover_finished"
    DISCOVER_FIRE = "discover_fire"
    DISCOVER_STARTED = "discover_started"
    DISK_FULL = "disk_full"
    DISK_SPACE_LOW = "disk_space_low"
    DISK_SPACE_OK = "disk_space_ok"
    DOOR_CLOSED = "door_closed"
    DOOR_FOUND_OPEN = "door_found_open"
    DOOR_LEFT_OPEN = "door_left_open"
    DOOR_OPEN_REMINDER = "door_open_reminder"
    DOOR_OPENED = "door_opened"
    DOOR_OPENED_BY_LATE_PULSE = "door_opened_by_late_pulse"
    FLEET_LINK_DOWN = "fleet_link_down"
    FLEET_LINK_UP = "fleet_link_up"
    FLEET_MESSAGE_FAILED = "fleet_message_failed"
    FORCED_OPEN = "forced_open"
    HOLD_EXTENDED = "hold_extended"
    HOLD_RELEASED = "hold_released"
    IN_SERVICE = "in_service"
    ITEM_EMPTY = "item_empty"
    ITEM_STILL_INSIDE = "item_still_inside"
    KEYPAD_LOCKED = "keypad_locked"
    KIOSK_KEY_REPLACED = "kiosk_key_replaced"
    KIOSK_REKEYED = "kiosk_rekeyed"
    KIOSK_STARTED = "kiosk_started"
    KIOSK_STOPPED = "kiosk_stopped"
    MARK_UNREADABLE = "mark_unreadable"
    MASS_OPEN_GUARD_RESET = "mass_open_guard_reset"
    MASS_OPEN_GUARD_TRIPPED = "mass_open_guard_tripped"
    NOTIFICATION_FAILED = "notification_failed"
    NOTIFICATION_RETRY = "notification_retry"
    NOTIFICATION_SENT = "notification_sent"
    NOTIFICATION_WITHDRAWN = "notification_withdrawn"
    OPEN_ALL_FINISHED = "open-all_finished"
    OPEN_ALL_STARTED = "open-all_started"
    OPEN_NOT_DETECTED = "open_not_detected"
    OPEN_REFUSED_BY_GUARD = "open_refused_by_guard"
    OPERATION_ABANDONED = "operation_abandoned"
    OUT_OF_SERVICE = "out_of_service"
    PARCEL_ANNOUNCED = "parcel_announced"
    PARCEL_EXPIRED = "parcel_expired"
    PARCEL_PICKED_UP = "parcel_picked_up"
    PARCEL_RETURNED = "parcel_returned"
    PARCEL_STORED = "parcel_stored"
    PICKUP_REFUSED = "pickup_refused"
    PICKUP_REMINDER = "pickup_reminder"
    PROBLEM_REPORTED = "problem_reported"
    RECIPIENT_PHONE_REFUSED = "recipient_phone_refused"
    REMOTE_COMMAND = "remote_command"
    REMOTE_COMMAND_REFUSED = "remote_command_refused"
    REMOTE_COMMAND_REPLAYED = "remote_command_replayed"
    REMOTE_CONFIG_APPLIED = "remote_config_applied"
    REMOTE_CONFIG_REFUSED = "remote_config_refused"
    SELF_TEST_FINISHED = "self-test_finished"
    SELF_TEST_STARTED = "self-test_started"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_IN_REFUSED_LOCKED = "sign_in_refused_locked"
    SIGNED_IN = "signed_in"
    STAFF_REVOKED = "staff_revoked"
    STAFF_UPDATE_REFUSED = "staff_update_refused"
    STAFF_UPDATED = "staff_updated"
    STORE_BEHIND = "store_behind"
    STORE_IDENTITY_RECORDED = "store_identity_recorded"
    STORE_REINITIALISED = "store_reinitialised"
    UNLOCK = "unlock"
    UNLOCK_FAILED = "unlock_failed"
    UNLOCK_RETRY = "unlock_retry"
    USER_ADDED = "user_added"
    USER_REMOVED = "user_removed"
    WIRE_TRACE_OFF = "wire_trace_off"
    WIRE_TRACE_ON = "wire_trace_on"
    WRONG_CODE = "wrong_code"


class OpStep(StrEnum):
    """What just happened to a door operation: ``kind`` of an ``operation`` message on
    the event stream (each but ``closed`` has the event of the same name in the log)."""

    DOOR_OPENED = "door_opened"
    OPEN_NOT_DETECTED = "open_not_detected"
    OPERATION_ABANDONED = "operation_abandoned"
    DOOR_OPEN_REMINDER = "door_open_reminder"
    DOOR_LEFT_OPEN = "door_left_open"
    CLOSED = "closed"  # finished: the door closed, or the operation ended without it


class JobKind(StrEnum):
    """A technician's job (``kind`` of a job in the API and the stream): one at a time,
    door by door, each with its own started and finished event."""

    OPEN_ALL = "open-all"
    SELF_TEST = "self-test"
    DISCOVER = "discover"
    BUS_SCAN = "bus-scan"


_JOB_EVENTS = {
    JobKind.OPEN_ALL: (EventKind.OPEN_ALL_STARTED, EventKind.OPEN_ALL_FINISHED),
    JobKind.SELF_TEST: (EventKind.SELF_TEST_STARTED, EventKind.SELF_TEST_FINISHED),
    JobKind.DISCOVER: (EventKind.DISCOVER_STARTED, EventKind.DISCOVER_FINISHED),
    JobKind.BUS_SCAN: (EventKind.BUS_SCAN_STARTED, EventKind.BUS_SCAN_FINISHED),
}


def job_started(job: JobKind) -> EventKind:
    """The event a job of this kind starts with."""
    return _JOB_EVENTS[job][0]


def job_finished(job: JobKind) -> EventKind:
    """The event a job of this kind ends with."""
    return _JOB_EVENTS[job][1]


class ItemCheck(StrEnum):
    """What the item sensor found when a door closed, where it disagrees with the
    operation (``item_check`` of the operation): a parcel still inside after a pickup or
    return, nothing inside after a deposit."""

    STILL_INSIDE = "still_inside"
    EMPTY = "empty"


def item_check_kind(check: ItemCheck) -> EventKind:
    """The warning an item check is logged as."""
    return EventKind.ITEM_STILL_INSIDE if check is ItemCheck.STILL_INSIDE else EventKind.ITEM_EMPTY
