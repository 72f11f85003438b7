"""What a database knows of itself: which store it is, which kiosk made it, which key
its codes and badges were made with; what is bound to that key; and what the kiosk's
mark (:mod:`kiosk.store.mark`) records of it.

The identity lives in ``meta``: ``store.id`` (random, made with the database),
``store.kiosk`` (the kiosk id of the config that made it), ``store.key_fingerprint``
(:func:`kiosk.access.codes.key_fingerprint` of its key) and ``store.created_at``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kiosk.protocol.events import EventKind, Severity
from kiosk.store.base import LIVE_OPS, OutboxItem, StoreBase
from kiosk.store.eventlog import GENESIS
from kiosk.store.rows import ParcelRow

STORE_ID, KIOSK, KEY_FINGERPRINT, CREATED_AT = (
    "store.id",
    "store.kiosk",
    "store.key_fingerprint",
    "store.created_at",
)
_LIVE_OPS = ", ".join(f"'{status}'" for status in LIVE_OPS)  # literal: see journal.py


@dataclass(frozen=True)
class Identity:
    store: str
    kiosk: str
    key_fingerprint: str | None  # None only between a new database and its new key
    created_at: float


@dataclass(frozen=True)
class KeyBound:
    """What in a database was made with its kiosk key and is lost without it."""

    codes: int  # live pickup codes (parcels stored or expired)
    badges: int

    def __bool__(self) -> bool:
        return bool(self.codes or self.badges)

    def __str__(self) -> str:
        parts = [_count(self.codes, "live pickup code"), _count(self.badges, "badge")]
        return " and ".join(p for p in parts if p) or "nothing"


@dataclass(frozen=True)
class Rekeyed:
    """What :meth:`IdentityMixin.rekey` did."""

    new_codes: int  # stored parcels given a new code, their recipients told
    void_codes: int  # expired parcels whose code is void (they are going back)
    badges_removed: tuple[str, ...]  # the people whose badge must be enrolled again


def _count(n: int, what: str) -> str:
    return "" if n == 0 else f"{n} {what}{'' if n == 1 else 's'}"


Reissue = Callable[[ParcelRow], tuple[str, Sequence[OutboxItem]]]


class IdentityMixin(StoreBase):
    def identity(self) -> Identity | None:
        """None for a database from before identities were recorded."""
        store, kiosk = self.get_meta(STORE_ID), self.get_meta(KIOSK)
        if store is None or kiosk is None:
            return None
        created = self.get_meta(CREATED_AT)
        return Identity(store, kiosk, self.get_meta(KEY_FINGERPRINT),
                        float(created) if created else 0.0)  # fmt: skip

    def record_identity(self, kiosk: str, key_fingerprint: str | None, *, new: bool) -> Identity:
        """Give the database its identity (a new store id), with an event; ``new``: it
        was made just now (else it is an older database, recorded as it is)."""
        with self._tx() as db:
            store = str(uuid.uuid4())
            values = {STORE_ID: store, KIOSK: kiosk, CREATED_AT: repr(self.clock())}
            if key_fingerprint is not None:
                values[KEY_FINGERPRINT] = key_fingerprint
            for key, value in values.items():
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
            self._event(EventKind.STORE_IDENTITY_RECORDED, Severity.INFO, None, None, store=store,
                        kiosk=kiosk, key_fingerprint=key_fingerprint,
                        new_database=new)  # fmt: skip
        identity = self.identity()
        assert identity is not None
        return identity

    def bind_key(self, key_fingerprint: str, replaced: str | None) -> None:
        """Record the key the database's codes and badges are made with from now on;
        ``replaced``: why an earlier key was given up (a warning says so)."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                (KEY_FINGERPRINT, key_fingerprint),
            )
            if replaced is not None:
                self._event(EventKind.KIOSK_KEY_REPLACED, Severity.WARNING, None, None,
                            key_fingerprint=key_fingerprint, why=replaced)  # fmt: skip

    def bound_to_key(self) -> KeyBound:
        codes = self._one(
            "SELECT COUNT(*) AS n FROM parcels WHERE state IN ('STORED', 'EXPIRED')"
            " AND code_tag IS NOT NULL"
        )
        badges = self._one("SELECT COUNT(*) AS n FROM users WHERE badge_tag IS NOT NULL")
        return KeyBound(int(codes["n"]) if codes else 0, int(badges["n"]) if badges else 0)

    # -- for the mark -----------------------------------------------------------------

    def last_event(self) -> tuple[int, str]:
        """The newest event's sequence number and hash ((0, genesis) for none)."""
        row = self._one("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
        return (int(row["seq"]), str(row["hash"])) if row else (0, GENESIS)

    def event_hash(self, seq: int) -> str | None:
        row = self._one("SELECT hash FROM events WHERE seq = ?", seq)
        return str(row["hash"]) if row else None

    def occupancy(self) -> dict[str, dict[str, Any]]:
        """Each compartment that holds a parcel (stored or expired) or has a door
        operation under way: ``{"parcel", "barcode", "op"}``, the absent ones None."""
        rows = self._db.execute(
            "SELECT c.id, p.id AS parcel, p.barcode, o.id AS op FROM compartments c"
            " LEFT JOIN parcels p ON p.compartment_id = c.id"
            "  AND p.state IN ('STORED', 'EXPIRED')"
            f" LEFT JOIN door_ops o ON o.compartment_id = c.id AND o.status IN ({_LIVE_OPS})"
            " WHERE c.in_config = 1 AND (p.id IS NOT NULL OR o.id IS NOT NULL) ORDER BY c.id"
        )
        return {r["id"]: {"parcel": r["parcel"], "barcode": r["barcode"], "op": r["op"]}
                for r in rows}  # fmt: skip

    # -- a new key for a database whose key is lost ---------------------------------------

    def rekey(self, key_fingerprint: str, reissue: Reissue) -> Rekeyed:
        """In one transaction: bind the database to a new key; give every stored parcel
        a new code (``reissue(parcel)`` -> its tag and the notifications that send it);
        void the codes of expired parcels; remove every badge; and give up every
        notification still carrying a nonce of the old key, which would derive a wrong
        code now. An alarm (``kiosk_rekeyed``) says what was done."""
        with self._tx() as db:
            self._supersede_nonces()
            stored = db.execute("SELECT * FROM parcels WHERE state = 'STORED'").fetchall()
            db.execute("UPDATE parcels SET code_tag = NULL WHERE state IN ('STORED', 'EXPIRED')")
            for row in stored:
                tag, notifications = reissue(ParcelRow.from_row(row))
                db.execute("UPDATE parcels SET code_tag = ? WHERE id = ?", (tag, row["id"]))
                self._queue(notifications)
            void = db.execute("SELECT COUNT(*) FROM parcels WHERE state = 'EXPIRED'").fetchone()
            badges = [r["name"] for r in db.execute(
                "SELECT name FROM users WHERE badge_tag IS NOT NULL ORDER BY name")]  # fmt: skip
            db.execute("UPDATE users SET badge_tag = NULL")
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                (KEY_FINGERPRINT, key_fingerprint),
            )
            done = Rekeyed(len(stored), int(void[0]), tuple(badges))
            self._event(
                EventKind.KIOSK_REKEYED,
                Severity.ALARM,
                None,
                None,
                key_fingerprint=key_fingerprint,
                new_codes=done.new_codes,
                void_codes=done.void_codes,
                badges_removed=list(done.badges_removed),
            )
        return done

    def _supersede_nonces(self) -> None:
        """Waiting notifications whose nonce derives a code under the old key are given
        up; every old nonce is removed. Call inside ``_tx``."""
        self._db.execute(
            "UPDATE outbox SET failed = failed OR (delivered_at IS NULL),"
            " last_error = CASE WHEN delivered_at IS NULL AND failed = 0"
            "  THEN 'superseded: the kiosk key was replaced' ELSE last_error END,"
            " payload = json_remove(payload, '$.code_nonce')"
            " WHERE json_extract(payload, '$.code_nonce') IS NOT NULL"
        )
