"""Staff lists: the couriers and technicians the operator lets sign in at this kiosk.

The operator's back office sends each kiosk the **whole** list of people it allows there
(``staff_list`` on the retained ``staff`` topic), never a change alone: the broker keeps
only the newest message of a topic, so a revocation sent as a change could be lost
behind a later one; in a whole list it cannot, as every later list leaves the person
out too. The list passes the gate like everything from the network (signed, for this
kiosk, within 30 days, once), carries a ``version`` and is applied only above the one in
force (else ``stale``). Its people are sealed to this kiosk's staff key
(:mod:`kiosk.fleet.sealed`): each PIN is there as its scrypt verifier, which nobody but
this kiosk can read on the way.

A list is applied in one transaction: the table of central staff, the version and the
record of the message, a ``staff_updated`` event, and a ``staff_revoked`` event for
each person who is gone (revoked, or no longer allowed here). Then the sessions of the
people who are gone, or whose role, PIN or badge changed, end at once. A list the kiosk
cannot use (sealed for another kiosk, people it cannot read) is refused with an event
and still moves the version on: sending it again would not help.

The broker hands the kiosk its retained list at every connect; once the link has handled
that one, whatever came of it, the kiosk has the latest it can have
(:class:`kiosk.access.staff_sync.StaffSync`) and sign-ins waiting for it go on.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from typing import TYPE_CHECKING, Any

from kiosk.access import pins
from kiosk.domain import Role
from kiosk.fleet import report, sealed
from kiosk.fleet.channels import STAFF
from kiosk.fleet.envelope import Command, CommandRefused, version_of
from kiosk.fleet.gate import Gate
from kiosk.fleet.payloads import Outcome, Refused, Result, StaffApplied
from kiosk.protocol.events import EventKind, Severity
from kiosk.store.staff import StaffDiff, StaffPerson

if TYPE_CHECKING:
    from kiosk.core import Kiosk

MAX_LIST_BYTES = 1 << 20
"""The most a list's people may take once inflated (a full message holds about 200 KB)."""
MAX_BADGE_CHARS = 256


class StaffLists:
    def __init__(self, kiosk: Kiosk, gate: Gate) -> None:
        self.kiosk, self.gate, self.store = kiosk, gate, kiosk.store
        self.kiosk_id = kiosk.config.kiosk.id
        self.key = sealed.kiosk_staff_key(kiosk.key)
        self._last_refused: bytes | None = None  # a retained refusal is told once a run

    @property
    def staff_key(self) -> str:
        """This kiosk's staff key, for the back office to register."""
        return sealed.public_text(self.key)

    def handle(self, raw: bytes) -> Result | None:
        """The answer to one message on the staff topic (``None``: nothing to say, the
        retained copy of the list in force once more)."""
        digest = hashlib.sha256(raw).digest()
        if digest == self._last_refused:
            return None
        try:
            admitted = self.gate.admit(raw, STAFF)
        except CommandRefused as exc:
            self._last_refused = digest
            return self.gate.refuse(EventKind.STAFF_UPDATE_REFUSED, raw, exc, topic=STAFF.leaf)
        cmd = admitted.command
        if admitted.seen is not None:
            return None
        try:
            version = self._version(cmd)
        except CommandRefused as exc:
            return self._refuse(cmd, exc, None)
        try:
            people = self._people(cmd)
        except CommandRefused as exc:
            return self._refuse(cmd, exc, version)
        allowed = self.kiosk.config.fleet.staff_roles
        kept = [p for p in people if str(p.role) in allowed]
        left_out = sorted(p.name for p in people if str(p.role) not in allowed)
        return self._apply(cmd, version, kept, left_out)

    def _version(self, cmd: Command) -> int:
        if cmd.command not in STAFF.names:
            raise CommandRefused(
                "unknown_command", f"{cmd.command[:32]!r} is not a staff list (on staff)"
            )
        version = version_of(cmd)
        in_force = self.store.staff_version()
        if version <= in_force:
            raise CommandRefused(
                "stale",
                f"version {version} is not above the staff list in force, {in_force}",
            )
        return version

    def _people(self, cmd: Command) -> list[StaffPerson]:
        box = cmd.args.get("sealed")
        if not isinstance(box, str):
            raise CommandRefused("malformed", "a staff list holds its people sealed")
        try:
            packed = sealed.open_box(self.key, box, self.kiosk_id)
        except sealed.SealError as exc:
            raise CommandRefused("malformed", f"the staff list cannot be opened: {exc}") from None
        return read_people(packed, self.kiosk.key)

    def _apply(
        self, cmd: Command, version: int, people: list[StaffPerson], left_out: list[str]
    ) -> Result:
        """Apply the list; ``left_out``: people of it whose role this kiosk takes from
        no list (``fleet.staff_roles``), who sign in here no more than if never sent."""
        shadowed = sorted(p.name for p in people if self.store.user_by_name(p.name) is not None)
        actor = f"fleet:{cmd.kid}"
        with self.store.transaction():
            diff = self.store.replace_staff(people, version, cmd.id)
            outcome = _outcome(version, people, diff, shadowed, left_out)
            message = _said(outcome)
            self.store.record_fleet_command(cmd.id, cmd.kid, cmd.command,
                                            {"version": version, "people": len(people)}, True,
                                            None, {"message": message, "result": outcome},
                                            event=False)  # fmt: skip
            self.store.log_event(EventKind.STAFF_UPDATED, Severity.INFO, actor, None, **outcome)
            for name in diff.removed:
                self.store.log_event(
                    EventKind.STAFF_REVOKED,
                    Severity.WARNING,
                    actor,
                    None,
                    user=name,
                    version=version,
                )
        self.kiosk.end_sessions_of([*diff.removed, *diff.changed])
        return self._answer(cmd, True, None, message, outcome)

    def _refuse(self, cmd: Command, exc: CommandRefused, version: int | None) -> Result:
        """A signed list refused: recorded (a copy gets this answer again) with its event;
        with ``version`` (one that could not be used), the version in force moves past it
        in the same transaction, and the people in force stay."""
        with self.store.transaction():
            if version is not None:
                self.store.pass_staff_version(version, cmd.id)
            self.store.record_fleet_command(cmd.id, cmd.kid, cmd.command, {"version": version},
                                            False, exc.reason,
                                            {"message": str(exc), "result": {}},
                                            event=False)  # fmt: skip
            self.store.log_event(
                EventKind.STAFF_UPDATE_REFUSED,
                Severity.WARNING,
                f"fleet:{cmd.kid}",
                None,
                command_id=cmd.id,
                version=version,
                reason=exc.reason,
                message=str(exc),
            )
        return self._answer(cmd, False, exc.reason, str(exc), Refused())

    def _answer(
        self, cmd: Command, ok: bool, reason: str | None, message: str, details: Outcome
    ) -> Result:
        return report.result(self.kiosk_id, cmd.id, cmd.command, ok, reason, message, details)


def read_people(packed: bytes, kiosk_key: bytes) -> list[StaffPerson]:
    """The people of an opened list (``{"people": [[name, role, verifier, badge], ...]}``,
    deflated), each checked as ``locker-kiosk users add`` would; :class:`CommandRefused`
    (``malformed``) naming the first that is not right. Badges become tags under the
    kiosk key, as a local user's."""
    rows = _rows(packed)
    people: list[StaffPerson] = []
    names: set[str] = set()
    badges: set[str] = set()
    for i, row in enumerate(rows):
        person = _person(row, i, kiosk_key)
        if person.name.lower() in names:
            raise CommandRefused("malformed", f"person {i}: the name {person.name!r} is twice")
        if person.badge_tag is not None and person.badge_tag in badges:
            raise CommandRefused("malformed", f"person {i}: a badge is given twice")
        names.add(person.name.lower())
        if person.badge_tag is not None:
            badges.add(person.badge_tag)
        people.append(person)
    return people


def _rows(packed: bytes) -> list[Any]:
    inflate = zlib.decompressobj()
    try:
        text = inflate.decompress(packed, MAX_LIST_BYTES)
        if inflate.unconsumed_tail:
            raise CommandRefused(
                "malformed", f"the staff list is larger than {MAX_LIST_BYTES} bytes"
            )
        body = json.loads(text)
    except (zlib.error, ValueError, RecursionError):
        raise CommandRefused("malformed", "the staff list's people cannot be read") from None
    rows = body.get("people") if isinstance(body, dict) else None
    if not isinstance(rows, list):
        raise CommandRefused("malformed", "the staff list has no people")
    return rows


def _person(row: Any, i: int, kiosk_key: bytes) -> StaffPerson:
    if not (isinstance(row, list) and len(row) == 4):
        raise CommandRefused("malformed", f"person {i}: not [name, role, pin, badge]")
    name, role, pin, badge = row
    if not (isinstance(name, str) and pins.PERSON_NAME.fullmatch(name)):
        raise CommandRefused("malformed", f"person {i}: not a name the keyboard can type")
    if role not in (str(Role.COURIER), str(Role.TECHNICIAN)):
        raise CommandRefused("malformed", f"person {i}: the role is courier or technician")
    if pin is not None and not (isinstance(pin, str) and pins.is_verifier(pin)):
        raise CommandRefused("malformed", f"person {i}: the PIN is not a verifier")
    if badge is not None and not (isinstance(badge, str) and 0 < len(badge) <= MAX_BADGE_CHARS):
        raise CommandRefused("malformed", f"person {i}: the badge is not a badge code")
    tag = pins.badge_tag(kiosk_key, badge.strip()) if badge else None
    return StaffPerson(name, Role(role), pin, tag)


def _outcome(
    version: int,
    people: list[StaffPerson],
    diff: StaffDiff,
    shadowed: list[str],
    left_out: list[str],
) -> StaffApplied:
    return StaffApplied(
        version=version,
        people=len(people),
        added=list(diff.added),
        changed=list(diff.changed),
        revoked=list(diff.removed),
        shadowed=shadowed,
        role_not_taken=left_out,
    )


def _said(outcome: StaffApplied) -> str:
    said = (
        f"Staff list {outcome['version']} applied: {outcome['people']} people "
        f"({len(outcome['added'])} added, {len(outcome['changed'])} changed, "
        f"{len(outcome['revoked'])} revoked)."
    )
    if outcome["shadowed"]:
        said += f" A local user of this kiosk signs in as: {', '.join(outcome['shadowed'])}."
    if outcome["role_not_taken"]:
        said += (
            " Left out, as this kiosk takes no such role from the network "
            f"(fleet.staff_roles): {', '.join(outcome['role_not_taken'])}."
        )
    return said
