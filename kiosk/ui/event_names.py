"""Names a person can read for the kinds of event in the daemon's log."""

from __future__ import annotations

from kiosk.ui.i18n import N_, _

EVENT_NAMES = {
    "board_offline": N_("Board offline"),
    "board_online": N_("Board online"),
    "brute_force_suspected": N_("Code guessing suspected"),
    "compartment_freed": N_("Compartment free again"),
    "customer_needs_help": N_("Customer needs help"),
    "door_closed": N_("Door closed"),
    "door_found_open": N_("Door found open"),
    "door_left_open": N_("Door left open"),
    "door_open_reminder": N_("Reminder to close"),
    "door_opened": N_("Door opened"),
    "forced_open": N_("Door forced open"),
    "hold_extended": N_("Hold extended"),
    "in_service": N_("Back in service"),
    "item_empty": N_("Compartment looks empty"),
    "item_still_inside": N_("Parcel still inside"),
    "keypad_locked": N_("Keypad locked"),
    "kiosk_started": N_("Kiosk started"),
    "kiosk_stopped": N_("Kiosk stopped"),
    "notification_failed": N_("Message not delivered"),
    "notification_retry": N_("Message to be retried"),
    "notification_sent": N_("Message sent"),
    "open-all_finished": N_("Open all finished"),
    "open-all_started": N_("Open all started"),
    "open_not_detected": N_("Door did not open"),
    "operation_abandoned": N_("Operation abandoned"),
    "out_of_service": N_("Out of service"),
    "parcel_announced": N_("Parcel announced"),
    "parcel_expired": N_("Parcel expired"),
    "parcel_picked_up": N_("Parcel picked up"),
    "parcel_returned": N_("Parcel returned"),
    "parcel_stored": N_("Parcel stored"),
    "pickup_refused": N_("Pickup refused"),
    "pickup_reminder": N_("Pickup reminder"),
    "self-test_finished": N_("Self-test finished"),
    "self-test_started": N_("Self-test started"),
    "sign_in_failed": N_("Sign-in failed"),
    "signed_in": N_("Signed in"),
    "unlock": N_("Unlock"),
    "unlock_failed": N_("Unlock failed"),
    "unlock_retry": N_("Unlock repeated"),
    "user_added": N_("User added"),
    "user_removed": N_("User removed"),
    "wrong_code": N_("Wrong code"),
}


def event_name(kind: str) -> str:
    """The event's name in the person's language; unknown kinds as they are."""
    name = EVENT_NAMES.get(kind)
    return _(name) if name else kind
