"""The topics that carry signed envelopes, what each accepts and how long a message on
it may live: the kiosk's side of the timing rules, without the signing (a kiosk without a
fleet link still keeps the record of messages for :data:`REPLAYABLE_S`, and needs no
cryptography for that). :mod:`kiosk.fleet.envelope` signs and checks the envelopes.
"""

from __future__ import annotations

from dataclasses import dataclass

LEEWAY_S = 30.0
"""How far a kiosk's clock and the signer's may disagree."""


@dataclass(frozen=True)
class Channel:
    """A topic that carries signed envelopes: what it accepts, and for how long at most."""

    leaf: str
    names: frozenset[str]
    max_lifetime_s: float


COMMANDS = Channel(
    "commands",
    frozenset(
        {
            "open",
            "out_of_service",
            "in_service",
            "extend",
            "cancel_announcement",
            "selftest",
            "resend_events",
        }
    ),
    300.0,
)
ANNOUNCEMENTS = Channel("announcements", frozenset({"announce", "cancel"}), 30 * 86400.0)
DESIRED_CONFIG = Channel("config/desired", frozenset({"desired_config"}), 30 * 86400.0)
STAFF = Channel("staff", frozenset({"staff_list"}), 30 * 86400.0)
CHANNELS = {c.leaf: c for c in (COMMANDS, ANNOUNCEMENTS, DESIRED_CONFIG, STAFF)}
MAX_LIFETIME_S = COMMANDS.max_lifetime_s
LONGEST_LIFETIME_S = max(c.max_lifetime_s for c in CHANNELS.values())
REPLAYABLE_S = LONGEST_LIFETIME_S + 2 * LEEWAY_S
"""How long after a kiosk took a message a copy of it may still pass :func:`check_time`:
it was issued at most :data:`LEEWAY_S` after the kiosk's clock said it arrived, lives
at most :data:`LONGEST_LIFETIME_S`, and is taken until :data:`LEEWAY_S` past its expiry.
Its id is kept that long (``fleet_commands``); after that a copy is refused as expired."""


def channel_of(name: str) -> Channel:
    """The channel that carries the message ``name``; ValueError for an unknown one."""
    for channel in CHANNELS.values():
        if name in channel.names:
            return channel
    raise ValueError(f"no topic carries a message named {name!r}")
