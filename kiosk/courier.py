"""What a courier does: announce, deposit (with "doesn't fit", "reopen", cancel, a door
that does not open), and collect expired parcels for return to the sender."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from drivers.base import DoorState
from kiosk import phones
from kiosk.access.sessions import Session
from kiosk.barcode import normalize_barcode
from kiosk.core import Kiosk
from kiosk.domain import DoorOutcome, OpStatus, ParcelState, Purpose, Role
from kiosk.errors import ConflictError, Forbidden, InvalidInput, LockerError, NoCompartmentFree
from kiosk.protocol.events import EventKind, Severity
from kiosk.protocol.views import DepositLookup
from kiosk.reasons import OosReason, OutOfService
from kiosk.store import OpRow, ParcelRow

DEPOSIT_DETAILS = ("barcode", "size", "phone", "email", "announced_parcel", "accessible")
"""What a deposit's operation carries about its parcel (what opening it again keeps)."""
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")


class Courier:
    def __init__(self, kiosk: Kiosk) -> None:
        self.k = kiosk

    def announce(
        self, session: Session, barcode: str, size: str, phone: str | None, email: str | None
    ) -> ParcelRow:
        with self._phone_refusals_logged(session.user, barcode):
            return self.announce_as(session.user, barcode, size, phone, email)

    def announce_as(
        self, actor: str, barcode: str, size: str, phone: str | None, email: str | None
    ) -> ParcelRow:
        """Announce for ``actor`` (a signed-in courier, or the operator's network)."""
        barcode = self._barcode(barcode)
        self._check_size(size)
        phone, email = self.contact(phone, email)
        return self.k.store.announce(barcode, size, phone, email, actor)

    def hold_for(self, parcel: ParcelRow, hours: float, actor: str) -> tuple[str | None, str]:
        """Keep the best free compartment for an announced parcel for ``hours``: the
        compartment (``None`` if none) and a sentence saying what happened. The caller
        refreshes the compartment once this is committed."""
        comps = self.k.store.compartments()
        most = int(len(comps) * self.k.config.fleet.max_held_share)
        held = sum(1 for c in comps if c.held_for is not None)
        if held >= most:  # announcements must not be able to fill the kiosk
            return None, (f"No compartment is held for it: {held} of the kiosk's {len(comps)}"
                          " compartments are held already, the most allowed.")  # fmt: skip
        cid = self.k.allocator.choose(self.k.config.size_rank(parcel.size or ""))
        if cid is None:
            return None, f"No compartment of size {parcel.size} is free to hold for it."
        self.k.store.hold(cid, parcel.id, self.k.clock() + hours * 3600, actor)
        return cid, f"Compartment {cid} is held for it for {hours:g} h."

    def lookup(self, session: Session, barcode_text: str) -> DepositLookup:
        """What the kiosk knows of a parcel about to be deposited (for the screen)."""
        barcode = self._barcode(barcode_text)
        parcel = self.k.store.parcel_by_barcode(barcode)
        if parcel is not None and parcel.state is not ParcelState.ANNOUNCED:
            raise ConflictError(f"Parcel {barcode} is already in this kiosk.")
        return {
            "barcode": barcode,
            "announced": parcel is not None,
            "size": parcel.size if parcel else None,
            "has_contact": bool(parcel and (parcel.phone or parcel.email)),
        }

    async def deposit(
        self,
        session: Session,
        barcode_text: str,
        size: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        accessible: bool = False,
    ) -> DoorOutcome:
        """Reserve the best compartment, open it, and follow it until the door closes."""
        barcode = self._barcode(barcode_text)
        announced = self.k.store.parcel_by_barcode(barcode)
        if announced is not None and announced.state is not ParcelState.ANNOUNCED:
            raise ConflictError(f"Parcel {barcode} is already in this kiosk.")
        if announced is not None:
            size = size or announced.size
        if size is None:
            raise InvalidInput("Choose a size for this parcel.")
        self._check_size(size)
        with self._phone_refusals_logged(session.user, barcode_text):
            phone, email = self.contact(phone, email, announced)
        details = {
            "barcode": barcode,
            "size": size,
            "phone": phone,
            "email": email,
            "announced_parcel": announced.id if announced else None,
            "accessible": accessible,
        }
        prefer = self._take_hold(announced.id, session.user) if announced else None
        return await self._deposit_into_best(
            session, details, self.k.config.size_rank(size), prefer=prefer
        )

    def _take_hold(self, parcel_id: int, actor: str) -> str | None:
        """The compartment held for this parcel, now free for it (and only it, as no await
        comes before it is chosen)."""
        held = self.k.store.release_holds_of(parcel_id, "parcel arrived", actor)
        for cid in held:
            self.k.refresh(cid)
        return held[0] if held else None

    async def _deposit_into_best(
        self,
        session: Session,
        details: dict[str, Any],
        need_rank: int,
        prefer: str | None = None,
        instead_of: tuple[int, str] | None = None,
    ) -> DoorOutcome:
        """Open the best free compartment (``prefer``, the one held for the parcel, if it is
        free and big enough); if its door does not open, the next one, whose view then
        ``replaces`` the first (and its English message says so).

        ``instead_of`` (operation, why): a live deposit whose compartment is given up for
        this one, marked unused in the same transaction as the new intent, so it stays
        the parcel's until another compartment is really on its way."""
        if prefer is not None and (
            not self.k.allocator.is_eligible(prefer)
            or self.k.config.size_rank(self.k.store.compartment(prefer).size) < need_rank
        ):
            prefer = None
        replaced = ""
        for _ in range(len(self.k.config.compartments)):
            cid = prefer or self.k.allocator.choose(need_rank, bool(details.get("accessible")))
            prefer = None
            if cid is None:
                raise NoCompartmentFree(self.k.config.size_names()[need_rank])
            self.k.allocator.set_eligible(cid, False)
            sized = {**details, "size": self.k.store.compartment(cid).size}
            try:
                with self.k.store.transaction():
                    if instead_of is not None:
                        self.k.store.update_details(instead_of[0], unused=instead_of[1])
                        instead_of = None
                    op = self.k.begin_op(cid, Purpose.DEPOSIT, session.user, None, sized,
                                         technician=session.role is Role.TECHNICIAN)  # fmt: skip
            except LockerError:
                self.k._refresh(cid)  # not reserved after all: eligible again
                raise
            view = await self.k.open_and_report(op, customer=False)
            if view.status is not OpStatus.OPEN_NOT_DETECTED:
                if replaced:
                    note = f"Door {replaced} did not open; use door {cid} instead."
                    view = replace(view, message=f"{note} {view.message}", replaces=replaced)
                return view
            replaced = cid
        raise NoCompartmentFree(self.k.config.size_names()[need_rank])

    async def bigger(self, session: Session, op_id: int) -> DoorOutcome:
        """The parcel does not fit: open a bigger door, free the first one when it closes."""
        op = self._courier_op(session, op_id, Purpose.DEPOSIT)
        rank = self.k.config.size_rank(op.details["size"]) + 1
        if rank >= len(self.k.config.sizes):
            raise NoCompartmentFree(f"bigger than {op.details['size']}")
        return await self._deposit_into_best(
            session, dict(op.details), rank, instead_of=(op_id, "did not fit")
        )

    async def not_opened(self, session: Session, op_id: int) -> DoorOutcome:
        """The courier says the door did not open: the compartment goes out of service
        and another one of the same size opens. Refused while the door's sensor sees it
        open: the door did open (a tap beside "Doesn't fit" must not take a sound
        compartment out of service), and the courier may cancel the deposit instead."""
        op = self._courier_op(session, op_id, Purpose.DEPOSIT)
        if self.k.hw.door(op.compartment_id) is DoorState.OPEN:
            raise ConflictError(
                f"The sensor of door {op.compartment_id} sees it open: pull the door. If it"
                " really is stuck, cancel this deposit.",
                "door_seen_open",
            )
        with self.k.store.transaction():
            self.k.store.update_details(op_id, unused="door did not open (courier)")
            self.k.store.set_out_of_service(
                op.compartment_id, OutOfService(OosReason.COURIER_REPORTED), session.user
            )
        rank = self.k.config.size_rank(op.details["size"])
        return await self._deposit_into_best(session, dict(op.details), rank)

    async def reopen(self, session: Session, op_id: int) -> DoorOutcome:
        op = self._courier_op(session, op_id, None)
        opened = await self.k.doors.reopen(op.id)
        view = self.k.outcome(self.k.store.op(op_id))
        if not opened and view.status is not OpStatus.CLOSED:
            # (closed meanwhile: the pulse was dropped and the view says how it ended)
            view = replace(view, message=f"Door {op.compartment_id} did not open again.")
        return view

    def cancel(self, session: Session, op_id: int) -> DoorOutcome:
        """The courier gives up this deposit: the compartment is freed when its door closes."""
        self._courier_op(session, op_id, Purpose.DEPOSIT)
        op = self.k.store.update_details(op_id, unused="cancelled by courier")
        message = f"Deposit cancelled. Please close door {op.compartment_id}."
        return replace(self.k.outcome(op), message=message)

    async def answer(self, session: Session, op_id: int, answer: str) -> DoorOutcome:
        """The courier's answer to "Is the parcel inside?" (a deposit whose door closed
        on an empty compartment): ``stored`` (it is: stored and notified), ``open_again``
        (the same door opens for the parcel, as a new deposit), ``cancel`` (nothing
        stored, the compartment is free)."""
        op = self.k.store.op(op_id)
        if op.purpose is not Purpose.DEPOSIT or op.details.get("confirm") != "asked":
            raise ConflictError(f"Operation {op_id} is not waiting for an answer.", "not_asked")
        if session.role is Role.COURIER and op.actor != session.user:
            raise Forbidden("This operation belongs to another courier.")
        if answer == "stored":
            return self.k.outcome(self.k.confirm_deposit(op))
        if answer == "cancel":
            op = self.k.store.drop_unconfirmed(op_id, "cancel", "cancelled by courier")
            self.k.refresh(op.compartment_id)
            return self.k.outcome(op)
        if answer != "open_again":
            raise InvalidInput("answer must be stored, open_again or cancel.")
        return await self._open_again(session, op)

    async def _open_again(self, session: Session, op: OpRow) -> DoorOutcome:
        """The same door opens again for the parcel: a new deposit operation, begun in the
        transaction that gives up the first, so the compartment stays the parcel's."""
        cid = op.compartment_id
        details = {k: op.details[k] for k in DEPOSIT_DETAILS if k in op.details}
        try:
            with self.k.store.transaction():
                self.k.store.drop_unconfirmed(op.id, "open_again", "opened again")
                again = self.k.begin_op(cid, Purpose.DEPOSIT, session.user, None, details,
                                        technician=session.role is Role.TECHNICIAN)  # fmt: skip
        finally:
            self.k.refresh(cid)
        return await self.k.open_and_report(again, customer=False)

    def _courier_op(self, session: Session, op_id: int, purpose: Purpose | None) -> OpRow:
        op = self.k.store.op(op_id)
        if op.id not in self.k.doors.live:
            raise ConflictError(f"Operation {op_id} is finished.")
        if purpose is not None and op.purpose is not purpose:
            raise ConflictError(f"Operation {op_id} is not a {purpose}.")
        if session.role is Role.COURIER and op.actor != session.user:
            raise Forbidden("This operation belongs to another courier.")
        return op

    async def next_return(self, session: Session) -> DoorOutcome | None:
        """Open the next compartment whose parcel expired, for return to the sender."""
        busy = [lv.compartment for lv in self.k.doors.live.values()]
        parcel = self.k.store.next_expired(skip=busy)
        if parcel is None:
            return None
        assert parcel.compartment_id is not None
        op = self.k.begin_op(
            parcel.compartment_id, Purpose.RETURN, session.user, parcel_id=parcel.id,
            technician=session.role is Role.TECHNICIAN,
        )  # fmt: skip
        view = await self.k.open_and_report(op, customer=False)
        remaining = len(self.k.store.parcels(ParcelState.EXPIRED)) - 1
        return replace(view, barcode=parcel.barcode, remaining=remaining)

    # -- validation -----------------------------------------------------------------

    def _barcode(self, text: str) -> str:
        return normalize_barcode(text, self.k.config.policy.max_barcode_length)

    def _check_size(self, size: str) -> None:
        if size not in self.k.config.size_names():
            known = ", ".join(self.k.config.size_names())
            raise InvalidInput(f"Unknown size {size!r}; sizes here are {known}.")

    @contextlib.contextmanager
    def _phone_refusals_logged(self, actor: str, barcode_text: str) -> Iterator[None]:
        """A courier's phone number refused is an event (its reason, never the number),
        so an operator sees couriers struggling with the format. The network's
        announcements have theirs already: ``announcement_refused``."""
        try:
            yield
        except phones.InvalidPhone as exc:
            # the barcode was read before the phone number, so it reads again here
            where = {"barcode": self._barcode(barcode_text), "reason": exc.reason}
            self.k.store.log_event(
                EventKind.RECIPIENT_PHONE_REFUSED, Severity.WARNING, actor, None, **where
            )
            raise

    def contact(
        self, phone: str | None, email: str | None, announced: ParcelRow | None = None
    ) -> tuple[str | None, str | None]:
        """The recipient's phone (E.164) and e-mail, checked: the one place a phone
        number enters the kiosk. What is not given is taken from the ``announced``
        parcel, whose contact was checked when it was announced (or, by an earlier
        version, stored as typed: it is read again when sent)."""
        phone = phone.strip() if phone else None
        email = email.strip() if email else None
        if phone:
            phone = phones.normalize_phone(phone, self.k.config.policy.phone_region)
        if email and not EMAIL.match(email):
            raise InvalidInput("That e-mail address does not look right.")
        if announced is not None:
            phone, email = phone or announced.phone, email or announced.email
        if not phone and not email:
            raise InvalidInput("Enter the recipient's phone number or e-mail address.")
        return phone, email
