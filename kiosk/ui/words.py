"""The person's words for the daemon's result and reason codes (``docs/api.md``).

The daemon answers with English for ``lockerctl`` and its logs, and with a code beside
it; screens show only the catalog's words for the code, so no daemon English reaches a
screen in another language. A code this UI does not know (a newer daemon) gets a
general line, never the English.
"""

from __future__ import annotations

from typing import Any

from kiosk.ui.i18n import N_, _

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
