"""The kiosk's persistent truth: one SQLite file in the data dir.

All SQL lives in this package. Every public method of :class:`Store` that changes
anything is one use case and one transaction, including the events it logs and the
notifications it queues: a power cut leaves either all of it or none of it.
"""

from kiosk.store.eventlog import ChainReport, Event
from kiosk.store.rows import CompartmentRow, OpRow, OutboxRow, ParcelRow, UserRow
from kiosk.store.store import OutboxItem, Store, StoreError

__all__ = [
    "ChainReport",
    "CompartmentRow",
    "Event",
    "OpRow",
    "OutboxItem",
    "OutboxRow",
    "ParcelRow",
    "Store",
    "StoreError",
    "UserRow",
]
