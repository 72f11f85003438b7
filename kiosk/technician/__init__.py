"""What a technician does: open doors, take compartments out of service, extend a
parcel's hold, self-test.

Open-all and the self-test are *jobs*: they run one door at a time on the loop, publish
progress on the bus, and can be followed with ``GET /v1/jobs/{id}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass, field
from typing import Any

from drivers.base import DoorState
from kiosk.access.sessions import Session
from kiosk.barcode import normalize_barcode
from kiosk.core import Kiosk
from kiosk.domain import CompartmentState, DoorOutcome, OpStatus, Purpose
from kiosk.errors import ConflictError, InvalidInput, NotFound
from kiosk.protocol.events import JobKind, Severity, job_finished, job_started
from kiosk.protocol.stream import StreamKind
from kiosk.protocol.views import JobView
from kiosk.reasons import CheckReason, DoorResult, OutOfService, door_result
from kiosk.store import CompartmentRow, ParcelRow


@dataclass
class Job:
    id: int
    kind: JobKind
    total: int
    results: list[dict[str, Any]] = field(default_factory=list)
    state: str = "running"
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    skipped: list[str] = field(default_factory=list)  # doors left shut: they hold parcels

    def view(self) -> JobView:
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "done": len(self.results),
            "total": self.total,
            "results": list(self.results),
            "skipped": list(self.skipped),
        }


class Technician:
    def __init__(self, kiosk: Kiosk) -> None:
        self.kiosk = kiosk
        self.jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()

    # -- single doors ---------------------------------------------------------------

    async def open(self, session: Session, cid: str, bulk: bool = False) -> DoorOutcome:
        """Open one door; ``bulk`` for a door of open-all (not counted by the guard)."""
        k = self.kiosk
        k.store.compartment(cid)  # NotFound for an unknown id
        op = k.begin_op(cid, Purpose.TECHNICIAN, session.user, technician=True, bulk=bulk)
        return await k.open_and_report(op, customer=False)

    def out_of_service(self, session: Session, cid: str, reason: str) -> CompartmentRow:
        reason = reason.strip()
        if not reason:
            raise InvalidInput("Give a reason for taking the compartment out of service.")
        row = self.kiosk.store.set_out_of_service(cid, OutOfService.typed(reason), session.user)
        self.kiosk._refresh(cid)
        return row

    def in_service(self, session: Session, cid: str) -> CompartmentRow:
        row = self.kiosk.store.set_in_service(cid, session.user)
        self.kiosk._refresh(cid)
        return row

    def clear_check(self, session: Session, cid: str) -> CompartmentRow:
        """The technician has checked ``cid``: it may be handed out again (when its state
        allows). Refused while its item sensor sees something where no parcel is
        recorded: handing it out would put a parcel on top of whatever is inside."""
        k = self.kiosk
        k.store.compartment(cid)  # NotFound for an unknown id
        item = k.hw.item(cid)
        if item and k.store.parcel_in(cid) is None:
            raise ConflictError(
                f"The item sensor still sees something in {cid}, and no parcel is recorded "
                "there: open it, take out what is inside and close it, then clear the check.",
                "item_inside",
            )
        with k.store.transaction():
            checked = k.store.compartment(cid)
            if checked.check_reason == CheckReason.DEPOSIT_UNCONFIRMED:
                # the deposit nobody confirmed: checked empty, its compartment is free
                op_id = int(checked.check_detail.get("operation", 0))
                k.store.drop_unconfirmed(op_id, "checked", "not confirmed; checked empty")
            row = k.store.clear_check(cid, session.user, item=item)
        k._refresh(cid)
        return row

    # -- parcels --------------------------------------------------------------------

    def extend_hold(self, barcode: str, hours: float, actor: str | None) -> ParcelRow:
        """Give the recipient ``hours`` more to pick the parcel up, within the kiosk's
        ``policy.max_extend_hours`` for all extensions together (see
        :meth:`kiosk.store.Store.extend_hold` for the states it accepts). ``actor`` is
        who asked: a technician's name, or whoever a remote front end names."""
        policy = self.kiosk.config.policy
        barcode = normalize_barcode(barcode, policy.max_barcode_length)
        return self.kiosk.store.extend_hold(
            barcode, hours, actor, limit_hours=policy.max_extend_hours
        )

    # -- jobs -----------------------------------------------------------------------

    def job(self, job_id: int) -> Job:
        try:
            return self.jobs[job_id]
        except KeyError:
            raise NotFound(f"no job {job_id}") from None

    async def wait_job(self, job_id: int, timeout: float) -> JobView:
        job = self.job(job_id)
        if job.state == "running":
            job.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(job.changed.wait(), timeout)
        return job.view()

    def start_open_all(self, session: Session, include_parcels: bool = False) -> Job:
        ids, skipped = self._doors(include_parcels)
        return self._start(JobKind.OPEN_ALL, ids, self._open_all(session, ids), skipped)

    def start_selftest(
        self, session: Session, take_out_of_service: bool, include_parcels: bool = False
    ) -> Job:
        ids, skipped = self._doors(include_parcels)
        run = self._selftest(session, ids, take_out_of_service)
        return self._start(JobKind.SELF_TEST, ids, run, skipped)

    def _doors(self, include_parcels: bool) -> tuple[list[str], list[str]]:
        """The doors a job opens, and those it leaves shut: a customer's parcel is not
        shown to whoever stands at the wall, nor handled by a simulated person, unless
        the technician asks for them."""
        holding = set(self.kiosk.store.live_parcels())
        ids = [c.id for c in self.kiosk.config.compartments]
        if include_parcels:
            return ids, []
        return [i for i in ids if i not in holding], [i for i in ids if i in holding]

    def start_job(self, kind: JobKind, ids: list[str], run: Any) -> Job:
        """Run ``await run(job)`` as a job of ``len(ids)`` steps, like open-all (for other
        technician tools, e.g. :mod:`kiosk.technician.board_tools`); one job runs at a time."""
        return self._start(kind, ids, run)

    def _start(
        self, kind: JobKind, ids: list[str], coro: Any, skipped: list[str] | None = None
    ) -> Job:
        if any(j.state == "running" for j in self.jobs.values()):
            raise ConflictError("Another open-all or self-test is still running.")
        job = Job(next(self._ids), kind, len(ids), skipped=list(skipped or []))
        self.jobs[job.id] = job
        more = {"skipped": job.skipped} if job.skipped else {}
        self.kiosk.store.log_event(job_started(kind), Severity.INFO, None, None, job=job.id, **more)
        task = asyncio.get_running_loop().create_task(self._run(job, coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def _run(self, job: Job, coro: Any) -> None:
        try:
            await coro(job)
        finally:
            job.state = "done"
            job.changed.set()
            failed = [r["compartment"] for r in job.results if not r["ok"]]
            self.kiosk.store.log_event(
                job_finished(job.kind),
                Severity.WARNING if failed else Severity.INFO,
                None,
                None,
                job=job.id,
                failed=failed,
            )
            self.kiosk.bus.publish({"type": StreamKind.JOB, **job.view()})

    def _record(self, job: Job, result: dict[str, Any]) -> None:
        """One door's result (:func:`kiosk.reasons.door_result`), kept and published."""
        job.results.append(result)
        job.changed.set()
        progress = {"id": job.id, "kind": job.kind, "done": len(job.results), "total": job.total}
        self.kiosk.bus.publish({"type": StreamKind.JOB, **progress, **result})

    def _open_all(self, session: Session, ids: list[str]) -> Any:
        async def run(job: Job) -> None:
            for cid in ids:
                try:
                    view = await self.open(session, cid, bulk=True)
                except ConflictError as exc:
                    self._record(job, door_result(cid, DoorResult.BUSY, str(exc)))
                    continue
                except Exception as exc:  # one door's trouble must not stop the rest
                    self._record(job, door_result(cid, DoorResult.ERROR, str(exc)))
                    continue
                opened = view.status is not OpStatus.OPEN_NOT_DETECTED
                code = DoorResult.OPENED if opened else DoorResult.DID_NOT_OPEN
                self._record(job, door_result(cid, code, view.message))

        return run

    def _selftest(self, session: Session, ids: list[str], take_oos: bool) -> Any:
        k = self.kiosk
        close_within = k.config.doors.left_open_after_s

        async def run(job: Job) -> None:
            for cid in ids:
                result = await self._test_one(session, cid, close_within)
                if not result["ok"] and take_oos:
                    row = k.store.compartment(cid)
                    if row.state is not CompartmentState.OUT_OF_SERVICE:
                        why = OutOfService.self_test(
                            DoorResult(result["code"]), result["detail"], result.get("seconds")
                        )
                        k.store.set_out_of_service(cid, why, session.user)
                        k._refresh(cid)
                self._record(job, result)

        return run

    async def _test_one(self, session: Session, cid: str, close_within: float) -> dict[str, Any]:
        k = self.kiosk
        if not k.hw.is_board_online(k.hw.board_of(cid)):
            return door_result(cid, DoorResult.BOARD_OFFLINE)
        if k.doors.live_for(cid) is not None:
            return door_result(cid, DoorResult.BUSY)
        try:
            op = k.begin_op(cid, Purpose.SELF_TEST, session.user, technician=True, bulk=True)
        except ConflictError as exc:
            return door_result(cid, DoorResult.BUSY, str(exc))
        live = k.doors.start(op)
        if not await asyncio.shield(live.opened):
            return door_result(cid, DoorResult.DID_NOT_OPEN)
        closed = await k.hw.wait_for_door(cid, DoorState.CLOSED, close_within)
        if not closed:
            return door_result(cid, DoorResult.NOT_CLOSED, seconds=round(close_within))
        await asyncio.shield(live.done)
        return door_result(cid, DoorResult.OPENED_AND_CLOSED)
