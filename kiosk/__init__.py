"""The locker kiosk controller: everything that decides."""

__version__ = "0.1.0"
