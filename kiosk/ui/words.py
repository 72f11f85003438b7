"""The person's words for the daemon's codes (``docs/api.md``): its refusals, door
results, out-of-service, check and problem reasons. The one place a screen finds them.

The daemon answers with English for ``lockerctl`` and its logs, and with a code beside
it; screens show only the catalog's words for the code, so no daemon English reaches a
screen in another language. A code this UI does not know (a newer daemon) gets a
general line, never the English.
"""

from __future__ import annotations

from typing import Any

from kiosk.ui.i18n import N_, _
from kiosk.ui.link import Message
from kiosk.ui.screen import ScreenContext

PICKED_REASONS = [
    N_("Door does not close"),
    N_("Lock broken"),
    N_("Sensor fault"),
    N_("Dirty or damaged"),
    N_("Other"),
]
"""Why a technician takes a compartment out of service; the daemon stores the English."""

RESULTS = {
    "opened": N_("Opened."),
    "opened_and_closed": N_("Opened and closed."),
    "did_not_open": N_("The door did not open."),
    "board_offline": N_("Its board is offline."),
    "busy": N_("It was busy with another door operation."),
}
OUT_OF_SERVICE = {
    "did_not_open": N_("The door did not open."),
    "courier_reported": N_("A courier reported that the door did not open."),
    "check_after_interrupted_deposit": N_(
        "A deposit was interrupted and something is inside: please check it."
    ),
    "remote": N_("Taken out of service by the operator's network."),
    "reported_door_wont_open": N_("Reported at the screen: the door won't open."),
    "reported_dirty": N_("Reported at the screen: the compartment is dirty."),
    "reported_damaged": N_("Reported at the screen: the compartment is damaged."),
}
PROBLEMS = {
    "compartment_empty": N_("The compartment is empty"),
    "parcel_damaged": N_("The parcel is damaged"),
    "wrong_parcel": N_("This is not my parcel"),
    "door_wont_open": N_("The door won't open"),
    "compartment_dirty": N_("The compartment is dirty"),
    "compartment_damaged": N_("The compartment is damaged"),
    "compartment_occupied": N_("Something is already inside"),
}
"""A problem a person may report at the screen, by its code (kiosk.reasons.ProblemReason)."""


CHECKS = {
    "item_unexpected": N_("Something is inside, but no parcel is recorded."),
    "item_missing": N_("A parcel is recorded, but the item sensor sees none."),
    "store_behind": N_("The database lost changes to this compartment."),
    "contents_unknown": N_("New database: what is inside is unknown."),
    "deposit_unconfirmed": N_(
        "A deposit closed on an empty compartment and nobody confirmed the parcel."
    ),
}
"""Why a compartment needs a check (``check.reason``), in the person's words."""


def check_text(check: dict[str, Any]) -> str:
    """Why a compartment needs a person's check (its ``check``)."""
    reason = str(check.get("reason") or "")
    if reason in CHECKS:
        return _(CHECKS[reason])
    return _("It needs a check.")


def result_text(result: dict[str, Any]) -> str:
    """One door's result in open-all or the self-test (``code``, maybe ``seconds``)."""
    code = result.get("code")
    if code == "not_closed":
        seconds = result.get("seconds", "?")
        return _("The door was not closed within {seconds} s.").format(seconds=seconds)
    if code in RESULTS:
        return _(RESULTS[code])
    return _("Something went wrong with this door.")


def reason_text(compartment: dict[str, Any]) -> str:
    """Why a compartment is out of service (``reason_code``, ``reason_detail``, ``reason``)."""
    code, reason = compartment.get("reason_code"), str(compartment.get("reason") or "")
    if code == "self_test":
        detail = result_text(compartment.get("reason_detail") or {})
        return _("Self-test: {detail}").format(detail=detail)
    if code in OUT_OF_SERVICE:
        return _(OUT_OF_SERVICE[code])
    if code == "technician":  # a person's words: translated if picked from the list
        return _(reason) if reason in PICKED_REASONS else reason
    return _("Out of service.")


# -- refusals ---------------------------------------------------------------------------

NOT_ANSWERING = N_("The kiosk is not answering. Please try again in a moment.")
SIGNED_OUT = N_("You have been signed out. Please sign in again.")
SOMETHING_WRONG = N_("Something went wrong. For help: {contact}")
EXTEND_REFUSALS = {
    "extend_limit": N_("This hold cannot be extended any further."),
    "extend_off": N_("This hold cannot be extended any further."),
    "still_expired": N_("Even extended, the pickup time would already have ended."),
    "being_returned": N_("This parcel is being collected for return right now."),
}
"""Why a hold could not be extended (the refusal's ``details.reason``)."""


def error_text(result: Message, app: ScreenContext) -> str:
    """The person's words for a refusal of the daemon (never the daemon's English)."""
    details = result.get("details") or {}
    kind, status = result.get("error_kind"), result.get("status")
    contact = app.contact
    reason = details.get("reason")
    if kind == "DaemonUnreachable" or status == 0:
        return _(NOT_ANSWERING)
    if kind == "DoorDidNotOpen" or status == 502:
        door = details.get("compartment", "")
        return _("Door {door} did not open. For help: {contact}").format(door=door, contact=contact)
    if reason == "door_unavailable":
        door = details.get("compartment", "")
        return _("Door {door} cannot be opened right now. For help: {contact}").format(
            door=door, contact=contact
        )
    if reason == "opens_paused":
        return _("The kiosk has paused opening doors for safety. For help: {contact}").format(
            contact=contact
        )
    if reason == "storage_full":
        return _("The kiosk cannot open doors right now: its storage is full. "
                 "For help: {contact}").format(contact=contact)  # fmt: skip
    if reason == "expired":
        return _("The pickup time for this parcel has ended; it is going back to the sender.")
    if reason == "returned":
        return _("This parcel has been returned to the sender.")
    if reason == "picked_up":
        return _("This parcel has already been picked up.")
    if status == 429:
        return _("Too many wrong tries. Please wait.")
    if status == 401:
        return _("That code is not right. Please check it and try again.")
    return _(SOMETHING_WRONG).format(contact=contact)


def courier_error(result: Message, app: ScreenContext) -> str:
    """A refusal of a courier request, in the person's words (never the daemon's)."""
    details = result.get("details") or {}
    if result.get("status") == 401:
        return _(SIGNED_OUT)
    if details.get("reason") == "no_compartment":
        size = details.get("size", "")
        return _("No compartment of size {size} or larger is free.").format(size=size)
    return error_text(result, app)


def tech_error_text(result: Message, app: ScreenContext, conflict: str = "") -> str:
    """A technician's words for a refusal of the daemon."""
    status = result.get("status")
    contact = app.contact
    if status == 0:
        return _(NOT_ANSWERING)
    if status == 401:
        return _("Your sign-in has ended. Please sign out and sign in again.")
    if status == 404:
        return _("The kiosk no longer knows this; it may have restarted.")
    if status == 409:
        return conflict or _("Not now: a door operation on this compartment is in progress.")
    return _(SOMETHING_WRONG).format(contact=contact)
