"""The ``log`` back end: a notification is a line in the daemon's log (the default; the
demo and tests)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Self

from kiosk.config.notify import NotifySection
from kiosk.notify import Notification, mask_recipient

__all__ = ["LogBackend"]

log = logging.getLogger("kiosk.notify")


class LogBackend:
    """Writes one log line per notification and always succeeds (demo and tests)."""

    async def send(self, n: Notification) -> None:
        log.info(
            "notification sent: kind=%s key=%s to=%s", n.kind, n.key, mask_recipient(n.recipient)
        )

    @classmethod
    def from_options(cls, notify: NotifySection, data_dir: Path) -> Self:
        """The ``log`` back end has no options."""
        return cls()
