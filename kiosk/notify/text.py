"""What the kiosk tells people: screen messages for operations and the notifications
queued for recipients. The pickup code never appears here: a stored-parcel
notification carries the nonce the code derives from (see :func:`kiosk.access.codes.derive_code`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from kiosk import phones
from kiosk.config import Config
from kiosk.domain import OpStatus, Purpose
from kiosk.store import OpRow, OutboxItem, ParcelRow


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


class Notices:
    def __init__(self, config: Config) -> None:
        self.config = config

    # -- screen messages ------------------------------------------------------------

    def op_message(self, op: OpRow) -> str:
        cid = op.compartment_id
        if op.status is OpStatus.OPEN_NOT_DETECTED:
            return f"Door {cid} did not open."
        if op.status is OpStatus.ABANDONED:
            return f"The operation on door {cid} was ended without opening it."
        if op.status is OpStatus.CLOSED:
            return self._closed_message(op)
        if op.details.get("unused"):
            return f"Door {cid} is open: take the parcel out and close the door."
        return {
            Purpose.PICKUP: f"Door {cid} is open: take your parcel and close the door.",
            Purpose.DEPOSIT: f"Door {cid} is open: put the parcel in and close the door.",
            Purpose.RETURN: f"Door {cid} is open: take the expired parcel and close the door.",
            Purpose.TECHNICIAN: f"Door {cid} is open.",
            Purpose.SELF_TEST: f"Door {cid} is open for the self-test: close it again.",
        }[op.purpose]

    def _closed_message(self, op: OpRow) -> str:
        cid = op.compartment_id

        if op.purpose is Purpose.DEPOSIT and op.details.get("unused"):
            return f"Door {cid} closed; the compartment is free again."
        confirm = op.details.get("confirm")
        if op.purpose is Purpose.DEPOSIT and confirm == "asked":
            return f"Door {cid} closed, but compartment {cid} looks empty: is the parcel inside?"
        if op.purpose is Purpose.DEPOSIT and confirm == "unanswered":
            return f"Nothing was stored in {cid}: nobody confirmed the parcel; it needs a check."
        if op.purpose is Purpose.DEPOSIT and confirm not in (None, "stored"):
            return f"Nothing was stored in {cid}; the compartment is free again."
        if op.purpose is Purpose.DEPOSIT:
            return f"Stored in {cid}; the recipient has been notified."
        if op.purpose is Purpose.PICKUP:
            return "Thank you!"
        if op.purpose is Purpose.RETURN:
            return f"Parcel from {cid} collected for return to the sender."
        return f"Door {cid} closed."

    def item_notice(self, op: OpRow) -> str | None:
        """A second line when the item sensor disagrees with what should have happened."""
        cid = op.compartment_id
        check = op.details.get("item_check")
        if check == "still_inside":
            return f"A parcel still seems to be inside door {cid}. Please check."
        if check == "empty":
            return f"Compartment {cid} looks empty. Did the parcel go in?"
        return None

    # -- notifications --------------------------------------------------------------

    def _channels(self, phone: str | None, email: str | None) -> list[tuple[str, str]]:
        out = []
        if phone:
            out.append(("sms", phones.for_sending(phone, self.config.policy.phone_region)))
        if email:
            out.append(("email", email))
        return out

    def _base(self) -> dict[str, object]:
        return {"kiosk_id": self.config.kiosk.id, "kiosk_name": self.config.kiosk.name}

    def stored(
        self, parcel_id: int, op: OpRow, code_nonce: str, expires_at: float
    ) -> Sequence[OutboxItem]:
        payload = {
            **self._base(),
            "compartment": op.compartment_id,
            "barcode": op.details["barcode"],
            "code_nonce": code_nonce,
            "expires_at": iso(expires_at),
        }
        return [
            OutboxItem(
                self._key(parcel_id, "stored", ch), "parcel_stored", ch, to, payload, parcel_id
            )
            for ch, to in self._channels(op.details.get("phone"), op.details.get("email"))
        ]

    def new_code(self, parcel: ParcelRow, code_nonce: str, key_id: str) -> Sequence[OutboxItem]:
        """A stored parcel's new code, after the kiosk key was replaced: the stored-parcel
        message again, saying the earlier code no longer works. ``key_id`` (the new key's
        fingerprint) keeps each replacement's notifications apart."""
        payload = {
            **self._base(),
            "compartment": parcel.compartment_id,
            "barcode": parcel.barcode,
            "code_nonce": code_nonce,
            "expires_at": iso(parcel.expires_at or 0),
            "replaces_code": True,
        }
        what = f"code-{key_id[:8]}"
        return [
            OutboxItem(self._key(parcel.id, what, ch), "parcel_stored", ch, to, payload, parcel.id)
            for ch, to in self._channels(parcel.phone, parcel.email)
        ]

    def reminder(self, parcel: ParcelRow, number: int) -> Sequence[OutboxItem]:
        payload = {**self._base(), "expires_at": iso(parcel.expires_at or 0)}
        return [
            OutboxItem(
                self._key(parcel.id, f"reminder{number}", ch),
                "pickup_reminder",
                ch,
                to,
                payload,
                parcel.id,
            )
            for ch, to in self._channels(parcel.phone, parcel.email)
        ]

    def expired(self, parcel: ParcelRow) -> Sequence[OutboxItem]:
        payload = {**self._base(), "barcode": parcel.barcode}
        return [
            OutboxItem(
                self._key(parcel.id, "expired", ch), "parcel_expired", ch, to, payload, parcel.id
            )
            for ch, to in self._channels(parcel.phone, parcel.email)
        ]

    def _key(self, parcel_id: int, what: str, channel: str) -> str:
        return f"{self.config.kiosk.id}:parcel:{parcel_id}:{what}:{channel}"
