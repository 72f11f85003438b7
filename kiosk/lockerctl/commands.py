"""The ``lockerctl`` commands of the kiosk's own journeys (status, events, deposits,
pickups, doors, self-test, returns); each is ``cmd_NAME(client, args, out) -> exit code``.
The board tools are in :mod:`kiosk.lockerctl.tools`, the parser and ``main`` in
:mod:`kiosk.lockerctl`."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from kiosk.lockerctl import format as fmt
from kiosk.lockerctl import io as ctl_io
from kiosk.lockerctl.io import (
    DOOR_OPEN_STATUSES,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    POLL_S,
    CtlError,
    Out,
    follow_job,
)
from kiosk.protocol.client import ApiClient, ApiError
from kiosk.protocol.states import OpStatus
from kiosk.protocol.stream import StreamKind
from kiosk.protocol.views import OperationView

# -- waiting for doors and jobs -----------------------------------------------------------


def wait_for_door(client: ApiClient, view: OperationView, out: Out) -> OperationView:
    """Poll the operation until it is no longer live; say what changes. Returns the last view."""
    shown = view.get("message")
    door = view.get("compartment", "?")
    started = time.monotonic()
    final = view
    for final in client.watch_operation(view["operation"], poll=POLL_S):
        message = final.get("message")
        if message and message != shown:
            out.say(message)
            shown = message
        elif final.get("live"):
            waited = fmt.duration(time.monotonic() - started)
            if final.get("status") in DOOR_OPEN_STATUSES:
                out.say(f"Door {door} is still open after {waited}: close it to finish.")
            else:
                out.say(f"Still waiting for door {door} ({final.get('status')}, {waited}).")
    return final


def door_operation(
    client: ApiClient, view: OperationView, args: argparse.Namespace, out: Out
) -> int:
    """Show an operation's message, wait for the door to close (unless --no-wait), report."""
    out.say(view.get("message") or f"Door {view.get('compartment')}: {view.get('status')}")
    final = view
    if view.get("live") and not getattr(args, "no_wait", False):
        final = wait_for_door(client, view, out)
    out.data(final)
    if final.get("live") or final.get("status") == OpStatus.CLOSED:
        return EXIT_OK
    return EXIT_FAILED


# -- commands -----------------------------------------------------------------------------


def cmd_status(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    status = client.status()
    out.show(status, fmt.status_text(status))
    return EXIT_OK


def cmd_compartments(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    answer = client.compartments()
    out.show(answer, fmt.compartments_table(answer.get("compartments", [])))
    return EXIT_OK


def cmd_parcels(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    answer = client.parcels(args.state)
    parcels = answer.get("parcels", [])
    out.show(answer, fmt.parcels_table(parcels) if parcels else "No parcels.")
    return EXIT_OK


def cmd_events(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    if args.verify:
        return verify_events(client, out)
    answer = client.events(args.limit, newest_first=True)
    events = list(reversed(answer.get("events", [])))
    if args.follow:
        for event in events:
            out.data(event, compact=True)
        out.say(fmt.event_line(fmt.EVENT_HEADERS))
        for event in events:
            out.say(fmt.event_line(fmt.event_row(event)))
        return follow_events(client, out, max((e.get("seq", 0) for e in events), default=0))
    out.show(answer, fmt.events_table(events) if events else "No events.")
    return EXIT_OK


def verify_events(client: ApiClient, out: Out) -> int:
    answer = client.verify_events()
    if answer.get("ok"):
        out.show(answer, f"event log intact: {answer.get('rows', 0)} events")
        return EXIT_OK
    reason = answer.get("reason") or "no reason given"
    out.show(answer, f"event log BROKEN at event {answer.get('first_bad_seq')}: {reason}")
    return EXIT_FAILED


def follow_events(client: ApiClient, out: Out, last_seq: int) -> int:
    """Print events from the stream until Ctrl-C (exit 0) or the daemon closes it (exit 3)."""
    try:
        for message in client.stream(f"/v1/stream?after={last_seq}"):
            if message.get("type") != StreamKind.EVENT or message.get("seq", 0) <= last_seq:
                continue
            last_seq = message.get("seq", last_seq)
            out.data(message, compact=True)
            out.say(fmt.event_line(fmt.event_row(message)))
    except KeyboardInterrupt:
        return EXIT_OK
    raise CtlError("the daemon closed the event stream (restarting?)", EXIT_UNREACHABLE)


def cmd_announce(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    body = {"barcode": args.barcode, "size": args.size, "phone": args.phone, "email": args.email}
    parcel = client.announce(drop_none(body))
    recipient = parcel.get("phone") or parcel.get("email") or "no recipient"
    out.show(
        parcel,
        f"Announced {parcel.get('barcode', args.barcode)} (size {parcel.get('size', args.size)}, "
        f"{recipient}): {parcel.get('state', 'ANNOUNCED')}.",
    )
    return EXIT_OK


def cmd_deposit(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    body = drop_none(
        {"barcode": args.barcode, "size": args.size, "phone": args.phone, "email": args.email}
    )
    if args.accessible:
        body["accessible"] = True
    return door_operation(client, client.deposit(body), args, out)


def cmd_pickup(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    code = args.code if args.code is not None else ctl_io.read_pickup_code()
    return door_operation(client, client.pickup(code), args, out)


def cmd_open(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    view = client.open_door(args.compartment)
    out.show(view, view.get("message") or f"Door {args.compartment}: {view.get('status')}")
    return (
        EXIT_FAILED
        if view.get("status") in {OpStatus.OPEN_NOT_DETECTED, OpStatus.ABANDONED}
        else EXIT_OK
    )


def confirm_open_all(args: argparse.Namespace) -> None:
    if args.yes or args.json:
        return
    if not ctl_io.is_terminal():
        raise CtlError("open-all opens every door: add --yes to confirm", EXIT_USAGE)
    print("This opens EVERY door of the kiosk, one after the other.", file=sys.stderr)
    print("Type yes to continue: ", end="", file=sys.stderr, flush=True)
    if sys.stdin.readline().strip().lower() not in {"yes", "y"}:
        raise CtlError("nothing opened", EXIT_FAILED)


def cmd_open_all(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    body = {"include_parcels": args.include_parcels}
    first = client.start_job("/v1/compartments/open-all", body)
    job = follow_job(client, first, out, fmt.job_result_line)
    text, ok = fmt.job_summary(job, "Open all")
    out.show(job, text)
    return EXIT_OK if ok else EXIT_FAILED


def cmd_selftest(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    body = {"take_out_of_service": args.take_out_of_service,
            "include_parcels": args.include_parcels}  # fmt: skip
    job = follow_job(client, client.start_job("/v1/selftest", body), out, fmt.job_result_line)
    text, ok = fmt.job_summary(job, "Self-test")
    out.show(job, f"{text}. {'PASS' if ok else 'FAIL'}")
    return EXIT_OK if ok else EXIT_FAILED


def cmd_out_of_service(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    view = client.set_service(args.compartment, "out-of-service", args.reason)
    out.show(view, f"{view.get('id', args.compartment)} is now {view.get('state')}: {args.reason}")
    return EXIT_OK


def cmd_in_service(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    view = client.set_service(args.compartment, "in-service")
    out.show(view, f"{view.get('id', args.compartment)} is now {view.get('state')}.")
    return EXIT_OK


def cmd_clear_check(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    view = client.set_service(args.compartment, "clear-check")
    out.show(view, f"{view.get('id', args.compartment)} is checked: {view.get('state')}, "
             "handed out again when free.")  # fmt: skip
    return EXIT_OK


def cmd_extend(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    parcel = client.extend_hold(args.barcode, args.hours)
    out.show(parcel, f"{parcel.get('barcode', args.barcode)} may be picked up until "
             f"{fmt.local_time(parcel.get('expires_at'))} (extended by "
             f"{parcel.get('extended_hours', args.hours):g} h in all).")  # fmt: skip
    return EXIT_OK


def cmd_guard_reset(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    view = client.reset_guard()
    out.show(view, "Doors open again: the mass-open guard is reset.")
    return EXIT_OK


def cmd_clock_confirm(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    view = client.confirm_clock()
    out.show(view, f"The kiosk's time is now {fmt.local_time(view.get('kiosk_time'))}: "
             "parcels expire by it again.")  # fmt: skip
    return EXIT_OK


def cmd_returns(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    """Open each expired parcel's door in turn until the daemon says there are no more."""
    done: list[OperationView] = []
    try:
        end = collect_returns(client, out, done)
    finally:
        out.data(done)
    text, ok = fmt.returns_summary(done, end)
    out.say(text)
    return EXIT_OK if ok else EXIT_FAILED


def collect_returns(client: ApiClient, out: Out, done: list[OperationView]) -> str:
    """Fill ``done`` with one merged view per parcel; return the daemon's closing message."""
    seen: set[str] = set()
    while True:
        try:
            view = client.next_return()
        except ApiError as exc:
            if exc.status == 404:
                return exc.message
            raise
        barcode = str(view.get("barcode"))
        if barcode in seen:
            raise CtlError(f"parcel {barcode} was offered again; stopping (see lockerctl status)")
        seen.add(barcode)
        out.say(view.get("message") or f"Door {view.get('compartment')}: take out {barcode}")
        final = wait_for_door(client, view, out) if view.get("live") else view
        record: OperationView = {**view, **final}
        done.append(record)
        ok = record.get("status") == OpStatus.CLOSED
        line = f"[{'x' if ok else '!'}] {barcode} from {record.get('compartment')}"
        out.say(line if ok else f"{line}: {record.get('message') or record.get('status')}")


def drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}
