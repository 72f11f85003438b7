"""The ``file`` back end: the inbox of simulated recipients, for the demo and the tests
(the config refuses it unless ``demo = true``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Self

from kiosk.config.notify import NotifySection
from kiosk.errors import InvalidInput
from kiosk.notify import DeliveryError, Notification
from kiosk.notify.backends import log_delivered

__all__ = ["FileBackend"]


class FileBackend:
    """Appends each notification as one JSON line to a file: the inbox of simulated
    recipients, for the demo and the tests. It carries the pickup code, as the real
    message would; never configure it on a kiosk with real customers."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    @classmethod
    def from_options(cls, notify: NotifySection, data_dir: Path) -> Self:
        """From ``[notify.file]``: a relative inbox lives in the data dir (the demo's
        throwaway one)."""
        if notify.file.path is None:
            raise InvalidInput("notify.file.path is required when backend = 'file'")
        return cls(str(data_dir / notify.file.path))

    async def send(self, n: Notification) -> None:
        line = json.dumps(
            {"key": n.key, "kind": n.kind, "channel": n.channel, "recipient": n.recipient,
             "payload": n.payload}, default=str,
        )  # fmt: skip
        try:
            with self.path.open("a", encoding="utf-8") as inbox:
                inbox.write(line + "\n")
        except OSError as exc:
            raise DeliveryError(
                f"cannot write the inbox file: {exc.strerror}", retryable=True
            ) from exc
        log_delivered("file", n)
