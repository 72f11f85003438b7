"""The seed's ``LockerSystem`` (``shared/seeds``), copied as a minimal reference.

``scale.py`` times it beside the kiosk's own code check and allocation: a linear scan
by exact size for a locker, a linear scan of the lockers for a plain-text code. Its
algorithm is unchanged; its print() calls are left out, as they would dominate the
timing.
"""

from __future__ import annotations

from enum import Enum


class LockerSize(Enum):
    S = "S"
    M = "M"
    L = "L"
    XL = "XL"


class LockerStatus(Enum):
    AVAILABLE = "AVAILABLE"
    OCCUPIED = "OCCUPIED"
    BROKEN = "BROKEN"


class Package:
    def __init__(self, package_id: str, size: LockerSize, pickup_code: str) -> None:
        self.package_id = package_id
        self.size = size
        self.pickup_code = pickup_code


class Locker:
    def __init__(self, locker_id: int, size: LockerSize) -> None:
        self.locker_id = locker_id
        self.size = size
        self.status = LockerStatus.AVAILABLE
        self.package: Package | None = None

    def assign_package(self, package: Package) -> bool:
        if self.status == LockerStatus.AVAILABLE:
            self.package = package
            self.status = LockerStatus.OCCUPIED
            return True
        return False

    def release_package(self) -> None:
        if self.status == LockerStatus.OCCUPIED:
            self.package = None
            self.status = LockerStatus.AVAILABLE


class LockerSystem:
    def __init__(self) -> None:
        self.lockers: list[Locker] = []

    def add_locker(self, locker: Locker) -> None:
        self.lockers.append(locker)

    def find_available_locker(self, size: LockerSize) -> Locker | None:
        for locker in self.lockers:
            if locker.size == size and locker.status == LockerStatus.AVAILABLE:
                return locker
        return None

    def store_package(self, package: Package) -> str | None:
        locker = self.find_available_locker(package.size)
        if not locker:
            return None
        locker.assign_package(package)
        return package.pickup_code

    def retrieve_package(self, pickup_code: str) -> bool:
        for locker in self.lockers:
            if locker.package and locker.package.pickup_code == pickup_code:
                locker.release_package()
                return True
        return False
