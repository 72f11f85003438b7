"""People's words for the office's codes, in English msgids (translated where shown).

Codes are stored; words are made from them only here, at the edge. A code with no
word here (a kiosk event of a newer version) is shown as the code itself.
"""

from __future__ import annotations

from office.web.i18n import N_

ALARM_KINDS = {
    "forced_open": N_("Door forced open"),
    "door_did_not_open": N_("Door did not open"),
    "door_left_open": N_("Door left open"),
    "board_offline": N_("Board offline"),
    "brute_force_suspected": N_("Code guessing suspected"),
    "guard_tripped": N_("Mass-open guard tripped"),
    "problem_report": N_("Problem reported at the kiosk"),
    "kiosk_offline": N_("Kiosk offline"),
    "kiosk_alarm": N_("Alarm from the kiosk"),
}
PARCEL_STATES = {
    "ANNOUNCED": N_("Announced"),
    "STORED": N_("Stored"),
    "PICKED_UP": N_("Picked up"),
    "EXPIRED": N_("Expired"),
    "RETURNED": N_("Returned"),
    "CANCELLED": N_("Cancelled"),
}
COMPARTMENT_STATES = {
    "AVAILABLE": N_("Free"),
    "RESERVED": N_("Reserved"),
    "HELD": N_("Held"),
    "OCCUPIED": N_("Occupied"),
    "OUT_OF_SERVICE": N_("Out of service"),
}
DOORS = {"OPEN": N_("Open"), "CLOSED": N_("Closed"), "UNKNOWN": N_("Unknown")}
STATUSES = {"online": N_("Online"), "offline": N_("Offline"), "unknown": N_("Not heard yet")}
GUARD = {"ok": N_("Normal"), "tripped": N_("Tripped")}
ROLES = {"viewer": N_("Viewer"), "dispatcher": N_("Dispatcher"), "admin": N_("Admin")}
COMMANDS = {
    "open": N_("Open door"),
    "out_of_service": N_("Out of service"),
    "in_service": N_("Back in service"),
    "extend": N_("Extend hold"),
    "cancel_announcement": N_("Cancel announcement"),
    "selftest": N_("Remote self-test"),
    "resend_events": N_("Resend events"),
    "announce": N_("Announce parcel"),
}
ACTIONS = {
    "login": N_("Signed in"),
    "login_failed": N_("Sign-in failed"),
    "login_throttled": N_("Sign-in throttled"),
    "logout": N_("Signed out"),
    "alarm_acknowledged": N_("Alarm acknowledged"),
    "command_sent": N_("Command sent"),
    "refused": N_("Refused"),
    "user_added": N_("Account added"),
    "password_changed": N_("Password changed"),
    "user_disabled": N_("Account disabled"),
}
REASONS = {
    "hourly_cap": N_("the kiosk's hourly limit is reached"),
    "guard_tripped": N_("the kiosk's mass-open guard is tripped"),
    "refused": N_("the kiosk refused it"),
    "expired": N_("it arrived too late"),
    "stale": N_("a later one was applied first"),
    "never_remote": N_("never accepted remotely"),
    "unknown_key": N_("the kiosk does not know the office's key"),
    "bad_signature": N_("the signature did not check out"),
}
EVENTS = {
    "kiosk_started": N_("Kiosk started"),
    "door_opened": N_("Door opened"),
    "door_closed": N_("Door closed"),
    "unlock": N_("Lock fired"),
    "unlock_retry": N_("Lock fired again"),
    "signed_in": N_("Staff signed in"),
    "kiosk_stopped": N_("Kiosk stopped"),
    "pickup_reminder": N_("Pickup reminder"),
    "pickup_refused": N_("Pickup refused"),
    "notification_sent": N_("Notification sent"),
    "compartment_freed": N_("Compartment freed"),
    "compartment_held": N_("Compartment held"),
    "hold_released": N_("Hold released"),
    "door_found_open": N_("Door found open"),
    "door_open_reminder": N_("Door open reminder"),
    "operation_abandoned": N_("Operation abandoned"),
    "mass_open_guard_reset": N_("Mass-open guard reset"),
    "remote_command_replayed": N_("Remote command replayed"),
    "parcel_announced": N_("Parcel announced"),
    "parcel_stored": N_("Parcel stored"),
    "parcel_picked_up": N_("Parcel picked up"),
    "parcel_expired": N_("Parcel expired"),
    "parcel_returned": N_("Parcel returned"),
    "announcement_cancelled": N_("Announcement cancelled"),
    "hold_extended": N_("Hold extended"),
    "forced_open": N_("Door forced open"),
    "open_not_detected": N_("Door did not open"),
    "door_left_open": N_("Door left open"),
    "board_offline": N_("Board offline"),
    "board_online": N_("Board online"),
    "out_of_service": N_("Out of service"),
    "in_service": N_("Back in service"),
    "remote_command": N_("Remote command"),
    "remote_command_refused": N_("Remote command refused"),
    "brute_force_suspected": N_("Code guessing suspected"),
    "mass_open_guard_tripped": N_("Mass-open guard tripped"),
    "customer_needs_help": N_("Customer asked for help"),
    "problem_reported": N_("Problem reported at the screen"),
    "announcement_refused": N_("Announcement refused"),
    "board_still_offline": N_("Board still offline"),
    "bus-scan_finished": N_("Bus scan finished"),
    "bus-scan_started": N_("Bus scan started"),
    "bus_scanned": N_("Bus scanned"),
    "clock_confirmed": N_("Clock confirmed by a technician"),
    "clock_jump": N_("Clock jumped: expiry held"),
    "clock_returned": N_("Clock back on time"),
    "clock_synchronised": N_("Clock synchronised"),
    "code_refused_locked": N_("Codes refused: keypad locked"),
    "compartment_check_cleared": N_("Compartment checked"),
    "compartment_needs_check": N_("Compartment to be checked"),
    "deposit_needs_check": N_("Deposit to be checked"),
    "deposit_unconfirmed": N_("Deposit closed empty, courier asked"),
    "discover_finished": N_("Door mapping finished"),
    "discover_fire": N_("Lock fired to map doors"),
    "discover_started": N_("Door mapping started"),
    "disk_full": N_("Storage full: nothing stored"),
    "disk_space_low": N_("Storage nearly full"),
    "disk_space_ok": N_("Storage has room again"),
    "door_opened_by_late_pulse": N_("Door opened by a late pulse"),
    "fleet_link_down": N_("Network link down"),
    "fleet_link_up": N_("Network link up"),
    "fleet_message_failed": N_("Network message not understood"),
    "item_empty": N_("Compartment looks empty"),
    "item_still_inside": N_("Parcel still inside"),
    "keypad_locked": N_("Keypad locked"),
    "kiosk_key_replaced": N_("Kiosk key replaced"),
    "kiosk_rekeyed": N_("New kiosk key: new codes sent"),
    "mark_unreadable": N_("Kiosk's mark unreadable"),
    "notification_failed": N_("Message not delivered"),
    "notification_retry": N_("Message to be retried"),
    "notification_withdrawn": N_("Message withdrawn: parcel gone"),
    "open-all_finished": N_("Open all finished"),
    "open-all_started": N_("Open all started"),
    "open_refused_by_guard": N_("Opening refused: paused"),
    "recipient_phone_refused": N_("Phone number refused"),
    "remote_config_applied": N_("Remote settings applied"),
    "remote_config_refused": N_("Remote settings refused"),
    "self-test_finished": N_("Self-test finished"),
    "self-test_started": N_("Self-test started"),
    "sign_in_failed": N_("Sign-in failed"),
    "sign_in_refused_locked": N_("Sign-ins refused: keypad locked"),
    "store_behind": N_("Database lost changes"),
    "store_identity_recorded": N_("Database identity recorded"),
    "store_reinitialised": N_("New database started"),
    "staff_revoked": N_("Staff member revoked"),
    "staff_update_refused": N_("Staff list refused"),
    "staff_updated": N_("Staff list updated"),
    "unlock_failed": N_("Unlock failed"),
    "user_added": N_("User added"),
    "user_removed": N_("User removed"),
    "wire_trace_off": N_("Wire trace off"),
    "wire_trace_on": N_("Wire trace on"),
    "wrong_code": N_("Wrong code"),
}
SIZES_ORDER = ("XS", "S", "M", "L", "XL", "XXL")


def size_key(size: str) -> tuple[int, str]:
    """Sizes in their order (S < M < L < XL), others after them by name."""
    return (SIZES_ORDER.index(size) if size in SIZES_ORDER else len(SIZES_ORDER), size)
