"""Choosing a compartment for a parcel, in time that depends on the number of sizes.

The caller decides which compartments are *eligible* (``AVAILABLE``, door ``CLOSED``,
board online) and tells the :class:`Allocator` whenever that changes. The allocator keeps
one min-heap of compartment ids per (size rank, accessible) bucket, with lazy deletion:
an id that stops being eligible stays in its heap until it reaches the top, where
:meth:`Allocator.choose` drops it. Each id is in its heap at most once.

The rule, for a parcel that needs size rank ``r``:

1. asked for an accessible (low) compartment: the smallest accessible one of rank >= r;
2. otherwise, or if there is none: the smallest *non-accessible* one of rank >= r, so that
   low compartments stay free for those who need them;
3. only then: the smallest accessible one of rank >= r.

Within one bucket, ids are taken in natural order (``A2`` before ``A10``).
"""

from __future__ import annotations

import bisect
import heapq
import re
from dataclasses import dataclass

from kiosk.errors import ConflictError, NotFound

__all__ = ["Allocator", "natural_key"]

_DIGITS = re.compile(r"(\d+)")

NaturalKey = tuple[str | int, ...]


def natural_key(cid: str) -> NaturalKey:
    """A sort key that orders ``A2`` before ``A10`` (and ``A01`` before ``A02``).

    Text and numbers alternate at fixed positions, so two keys always compare.
    """
    parts = _DIGITS.split(cid)
    return tuple(int(part) if i % 2 else part for i, part in enumerate(parts))


@dataclass(frozen=True)
class _Compartment:
    size_rank: int
    accessible: bool
    key: NaturalKey


_Bucket = tuple[int, bool]


class Allocator:
    """The set of eligible compartments, indexed for :meth:`choose`."""

    def __init__(self) -> None:
        self._compartments: dict[str, _Compartment] = {}
        self._heaps: dict[_Bucket, list[tuple[NaturalKey, str]]] = {}
        self._in_heap: set[str] = set()
        self._eligible: set[str] = set()
        self._ranks: list[int] = []  # sorted, distinct
        self._free: dict[int, int] = {}

    def add(self, cid: str, size_rank: int, accessible: bool) -> None:
        """Register a compartment; it is not eligible until :meth:`set_eligible`."""
        if cid in self._compartments:
            raise ConflictError(f"compartment {cid} is already registered")
        self._compartments[cid] = _Compartment(size_rank, accessible, natural_key(cid))
        self._heaps.setdefault((size_rank, accessible), [])
        if size_rank not in self._free:
            bisect.insort(self._ranks, size_rank)
            self._free[size_rank] = 0

    def set_eligible(self, cid: str, eligible: bool) -> None:
        """Whether ``choose`` may return ``cid``. Idempotent."""
        compartment = self._get(cid)
        if eligible == (cid in self._eligible):
            return
        if eligible:
            self._eligible.add(cid)
            self._free[compartment.size_rank] += 1
            if cid not in self._in_heap:
                self._in_heap.add(cid)
                bucket = self._heaps[(compartment.size_rank, compartment.accessible)]
                heapq.heappush(bucket, (compartment.key, cid))
        else:
            self._eligible.discard(cid)
            self._free[compartment.size_rank] -= 1

    def is_eligible(self, cid: str) -> bool:
        return cid in self._eligible

    def choose(self, need_rank: int, want_accessible: bool = False) -> str | None:
        """The compartment to use for size rank ``need_rank``, or ``None``.

        Does not change eligibility: the caller reserves the compartment and then calls
        ``set_eligible(cid, False)``.
        """
        if want_accessible:
            found = self._smallest(need_rank, accessible=True)
            if found is not None:
                return found
        found = self._smallest(need_rank, accessible=False)
        if found is None:
            found = self._smallest(need_rank, accessible=True)
        return found

    def free_counts(self) -> dict[int, int]:
        """Eligible compartments per size rank (every registered rank, zeros included)."""
        return dict(self._free)

    def _get(self, cid: str) -> _Compartment:
        try:
            return self._compartments[cid]
        except KeyError:
            raise NotFound(f"unknown compartment {cid}") from None

    def _smallest(self, need_rank: int, accessible: bool) -> str | None:
        for rank in self._ranks[bisect.bisect_left(self._ranks, need_rank) :]:
            if not self._free[rank]:
                continue
            top = self._top((rank, accessible))
            if top is not None:
                return top
        return None

    def _top(self, bucket: _Bucket) -> str | None:
        heap = self._heaps.get(bucket)
        if not heap:
            return None
        while heap and heap[0][1] not in self._eligible:
            _, stale = heapq.heappop(heap)
            self._in_heap.discard(stale)
        return heap[0][1] if heap else None
