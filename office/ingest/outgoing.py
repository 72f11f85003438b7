"""Commands the office sends to kiosks: built and signed by the fleet contract.

Every message is built and signed by ``kiosk.fleet.messages`` (the one place
``locker-fleet`` sends through too), never here, so a change to the contract's messages
or their signing reaches the office as well.
The signing key lives in a private file named by the config (``[signing]``), never in
the database. Each command is recorded (who asked, why) before it is published; the
kiosk's answer is filled in by the ingest when its ``results`` message arrives.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from kiosk.fleet.messages import Outgoing, Signer, resend_events
from office.store import commands

log = logging.getLogger("office.commands")


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, timeout_s: float = 10.0) -> bool: ...


class CommandSender:
    def __init__(self, engine: Engine, link: Publisher, signer: Signer) -> None:
        self.engine = engine
        self.link = link
        self.signer = signer

    def resend_events(self, kiosk: str, from_seq: int, asked_by: str, why: str) -> Outgoing:
        """Ask ``kiosk`` to send its event log again from ``from_seq``."""
        return self.send(resend_events(self.signer, kiosk, from_seq), asked_by, why)

    def send(
        self,
        out: Outgoing,
        asked_by: str,
        why: str | None = None,
        shown_args: dict[str, Any] | None = None,
    ) -> Outgoing:
        """Record ``out`` (who asked, why), then publish it; ``published_at`` says if it went.
        ``shown_args``: what the record keeps of its arguments, where that must be less
        than what was signed (a recipient's contact, masked)."""
        body = out.body if shown_args is None else {**out.body, "args": shown_args}
        with self.engine.begin() as conn:
            commands.record(conn, body, asked_by, why)
        if self.link.publish(out.topic, out.payload):
            with self.engine.begin() as conn:
                commands.published(conn, out.id, time.time())
        else:
            log.warning("%s to %s not published: the broker is not reachable", out.name, out.kiosk)
        return out

    def was_published(self, command_id: str) -> bool:
        with self.engine.connect() as conn:
            found = commands.answer(conn, command_id)
        return found is not None and found["published_at"] is not None
