"""The operator's back office (``locker-office``): the network's memory.

It consumes what the kiosks say on the broker (docs/fleet.md) into a real database
(SQLite embedded, PostgreSQL in production), derives alarms, parcels and compartments
from it, repairs gaps in a kiosk's event sequence with the signed ``resend_events``
command, and keeps the console's own accounts. Of the kiosk's code it imports only the
fleet contract (``kiosk.fleet.envelope``, ``kiosk.fleet.messages``, ``kiosk.fleet.net``,
``kiosk.fleet.payloads``):
tests/office/test_boundary.py holds it to that. docs/office.md is its manual.
"""
