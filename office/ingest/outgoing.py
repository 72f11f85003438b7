"""Commands the office sends to kiosks: signed by the fleet contract's operator side.

The envelope is built and signed by ``kiosk.fleet.envelope`` (the code ``locker-fleet``
signs with), never here, so a change to the contract's signing reaches the office too.
The signing key lives in a private file named by the config (``[signing]``), never in
the database. Each command is recorded (who asked, why) before it is published; the
kiosk's answer is filled in by the ingest when its ``results`` message arrives.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from kiosk.fleet.envelope import sign
from kiosk.fleet.operator import COMMAND_LIFETIME_S, check_kiosk_id, topic
from office.store import commands

log = logging.getLogger("office.commands")


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, timeout_s: float = 10.0) -> bool: ...


class CommandSender:
    def __init__(self, engine: Engine, link: Publisher, key: Ed25519PrivateKey, kid: str) -> None:
        self.engine = engine
        self.link = link
        self.key = key
        self.kid = kid

    def send(
        self,
        kiosk: str,
        command: str,
        args: Mapping[str, Any],
        asked_by: str,
        why: str | None = None,
    ) -> dict[str, Any]:
        """Sign, record, publish; the payload as sent (``published`` says if it went)."""
        check_kiosk_id(kiosk)
        envelope = sign(self.key, self.kid, kiosk, command, args, lifetime_s=COMMAND_LIFETIME_S)
        sent: dict[str, Any] = json.loads(base64.b64decode(json.loads(envelope)["payload"]))
        with self.engine.begin() as conn:
            commands.record(conn, sent, asked_by, why)
        sent["published"] = self.link.publish(topic(kiosk, "commands"), envelope)
        if sent["published"]:
            with self.engine.begin() as conn:
                commands.published(conn, sent["id"], time.time())
        else:
            log.warning("%s to %s not published: the broker is not reachable", command, kiosk)
        return sent
