"""The notification back ends, one module each, named as :data:`kiosk.config.notify.BackendName`
names them: ``log``, ``file`` (the demo's inbox), ``webhook`` and ``smtp``.

Each module's back end delivers one :class:`~kiosk.notify.Notification` or raises
:class:`~kiosk.notify.DeliveryError`, and is built from the config's ``[notify]`` by
``from_options``; :func:`kiosk.notify.backend_class` finds it by name and imports it only
then (a kiosk that sends by webhook never loads smtplib, nor one on SMTP httpx). The rules
of :mod:`kiosk.notify` hold here: no payload in a log line or an error message,
recipients only masked.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from kiosk.notify import mask_recipient

if TYPE_CHECKING:
    from kiosk.notify import Notification

_log = logging.getLogger("kiosk.notify")  # one logger for the dispatcher's side and these


def log_delivered(via: str, n: Notification) -> None:
    """A debug line for one delivered notification, its recipient masked."""
    # DEBUG: the dispatcher owns the outcome; this line helps when tracing one back end
    _log.debug(
        "notification delivered by %s: kind=%s key=%s to=%s",
        via,
        n.kind,
        n.key,
        mask_recipient(n.recipient),
    )
