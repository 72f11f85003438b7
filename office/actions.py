"""What a person asks of a kiosk from the console: each a signed message.

Every message is built and signed by ``kiosk.fleet.messages`` (the one place that
signs), so the kiosk's own checks bound what the console can do: it must be for that
kiosk, within its life, not seen before, and within the kiosk's caps (remote opens an
hour, the mass-open guard, resend requests an hour, the longest extension). The console
records who asked and why (``commands.asked_by``, ``why``) and a line of the audit
before it publishes; the kiosk's answer arrives on ``results`` and the ingest fills it
in, so the console shows each command pending until then.

A recipient's phone and e-mail go into the signed announcement and nowhere else: the
record of the command keeps them masked (``+49•••••••78``).
"""

from __future__ import annotations

from dataclasses import dataclass

import kiosk.fleet.messages as messages
from kiosk.fleet.messages import Outgoing
from office.ingest.outgoing import CommandSender
from office.store.accounts import audit
from office.vocab import Command, ConsoleAction

MASK = "•"


class NoSigningKey(RuntimeError):
    """The office has no ``[signing]`` key, so it can send nothing."""


@dataclass(frozen=True)
class Sent:
    id: str
    command: Command
    kiosk: str
    published: bool


def mask_phone(phone: str) -> str:
    digits = [c for c in phone if c.isdigit()]
    if len(digits) <= 4:
        return MASK * len(digits)
    head = "+" + "".join(digits[:2]) if phone.startswith("+") else ""
    hidden = len(digits) - 2 - (2 if head else 0)
    return f"{head}{MASK * hidden}{''.join(digits[-2:])}"


def mask_email(email: str) -> str:
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}{MASK * 3}@{domain}" if local else MASK * 3


class Actions:
    """Sends the console's commands; ``sender`` is None when the office has no key."""

    def __init__(self, sender: CommandSender | None) -> None:
        self.sender = sender

    @property
    def can_sign(self) -> bool:
        return self.sender is not None

    def open_door(self, who: str, kiosk: str, compartment: str, reason: str) -> Sent:
        signer = self._signer()
        return self._send(who, messages.open_door(signer, kiosk, compartment), reason)

    def out_of_service(self, who: str, kiosk: str, compartment: str, reason: str) -> Sent:
        out = messages.out_of_service(self._signer(), kiosk, compartment, reason)
        return self._send(who, out, reason)

    def in_service(self, who: str, kiosk: str, compartment: str, why: str) -> Sent:
        return self._send(who, messages.in_service(self._signer(), kiosk, compartment), why)

    def extend(self, who: str, kiosk: str, barcode: str, hours: float, why: str) -> Sent:
        return self._send(who, messages.extend(self._signer(), kiosk, barcode, hours), why)

    def cancel(self, who: str, kiosk: str, barcode: str, why: str) -> Sent:
        out = messages.cancel_announcement(self._signer(), kiosk, barcode)
        return self._send(who, out, why)

    def selftest(self, who: str, kiosk: str, why: str) -> Sent:
        return self._send(who, messages.selftest(self._signer(), kiosk), why)

    def resend(self, who: str, kiosk: str, from_seq: int, why: str) -> Sent:
        return self._send(who, messages.resend_events(self._signer(), kiosk, from_seq), why)

    def announce(
        self,
        who: str,
        kiosk: str,
        barcode: str,
        size: str,
        phone: str | None,
        email: str | None,
        why: str,
    ) -> Sent:
        out = messages.announce(self._signer(), kiosk, barcode, size, phone=phone, email=email)
        shown = {
            **out.body["args"],
            "phone": mask_phone(phone) if phone else None,
            "email": mask_email(email) if email else None,
        }
        return self._send(who, out, why, shown)

    def _signer(self) -> messages.Signer:
        if self.sender is None:
            raise NoSigningKey("this office has no signing key ([signing] in its config)")
        return self.sender.signer

    def _send(
        self, who: str, out: Outgoing, why: str, shown: dict[str, object] | None = None
    ) -> Sent:
        assert self.sender is not None  # _signer() made sure
        args = shown if shown is not None else out.body["args"]
        with self.sender.engine.begin() as conn:
            audit(
                conn,
                who,
                ConsoleAction.COMMAND_SENT,
                out.id,
                kiosk=out.kiosk,
                command=out.name,
                args=args,
                why=why,
            )
        self.sender.send(out, who, why or None, shown_args=shown)
        published = self.sender.was_published(out.id)
        return Sent(out.id, Command(out.name), out.kiosk, published)
