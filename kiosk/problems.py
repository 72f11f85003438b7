"""A problem reported at the screen, about the compartment of one's own door operation.

A customer reports on their pickup (the compartment was empty, the parcel damaged or
not theirs, the door won't open), a courier on their deposit (the compartment is dirty,
damaged, or already holds something). Each report is a ``problem_reported`` alarm with
its reason's code, which the operator's network gets like every alarm. A compartment
reported unusable (dirty, damaged, a door that won't open) goes out of service with
that reason; one reported occupied is flagged for a check: neither is handed out again
until a technician has seen to it. A deposit whose compartment was reported stores
nothing when its door closes: the courier chooses a door again.

A report needs no sign-in for a pickup (the customer has none), so it is bounded: it
names an operation of that purpose, live or ended within :data:`REPORT_WINDOW_S`, and
each operation takes one report.
"""

from __future__ import annotations

from kiosk.access.sessions import Session
from kiosk.core import Kiosk
from kiosk.domain import CompartmentState, DoorOutcome, Purpose, Role
from kiosk.errors import ConflictError, Forbidden
from kiosk.protocol.events import EventKind, Severity
from kiosk.reasons import (
    COURIER_PROBLEMS,
    CUSTOMER_PROBLEMS,
    UNUSABLE,
    CheckReason,
    OutOfService,
    ProblemReason,
)
from kiosk.store import OpRow

REPORT_WINDOW_S = 300.0
"""How long after its door operation ended a person may still report a problem."""


class ProblemReports:
    def __init__(self, kiosk: Kiosk) -> None:
        self.k = kiosk

    def report(self, op_id: int, reason: ProblemReason, session: Session | None) -> DoorOutcome:
        """Report ``reason`` about operation ``op_id``'s compartment; its view after.

        Raises :class:`ConflictError` for an operation that is not a pickup (customer
        reasons) or a deposit (courier reasons), ended too long ago, or reported
        already; :class:`Forbidden` for a courier's reason without a courier's sign-in
        or on another courier's deposit."""
        op = self._reportable(op_id, reason, session)
        cid = op.compartment_id
        actor = session.user if session else None
        with self.k.store.transaction():
            self.k.store.update_details(op.id, problem=str(reason))
            self.k.store.log_event(
                EventKind.PROBLEM_REPORTED,
                Severity.ALARM,
                actor,
                cid,
                operation=op.id,
                purpose=str(op.purpose),
                reason=str(reason),
            )
            if op.purpose is Purpose.DEPOSIT and op.id in self.k.doors.live:
                self.k.store.update_details(op.id, unused=f"problem reported: {reason}")
            self._take_out(cid, reason, actor)
        self.k.refresh(cid)
        return self.k.outcome(self.k.store.op(op.id))

    def _take_out(self, cid: str, reason: ProblemReason, actor: str | None) -> None:
        if reason in UNUSABLE:
            row = self.k.store.compartment(cid)
            if row.state is not CompartmentState.OUT_OF_SERVICE:  # keep the first reason
                self.k.store.set_out_of_service(cid, OutOfService(UNUSABLE[reason]), actor)
        elif reason is ProblemReason.COMPARTMENT_OCCUPIED:
            self.k.store.flag_for_check(cid, CheckReason.ITEM_UNEXPECTED, actor,
                                        reported=str(reason))  # fmt: skip

    def _reportable(self, op_id: int, reason: ProblemReason, session: Session | None) -> OpRow:
        op = self.k.store.op(op_id)
        if op.details.get("problem"):
            raise ConflictError("A problem was already reported for this door.")
        if reason in CUSTOMER_PROBLEMS and op.purpose is not Purpose.PICKUP:
            raise ConflictError(f"Operation {op_id} is not a pickup.")
        if reason in COURIER_PROBLEMS:
            if op.purpose is not Purpose.DEPOSIT:
                raise ConflictError(f"Operation {op_id} is not a deposit.")
            if session is None:
                raise Forbidden("Sign in as a courier to report this.")
            if session.role is Role.COURIER and op.actor != session.user:
                raise Forbidden("This operation belongs to another courier.")
        ended = op.id not in self.k.doors.live
        if ended and self.k.store.clock() - op.updated_at > REPORT_WINDOW_S:
            raise ConflictError(f"Operation {op_id} ended too long ago to report on it.")
        return op
