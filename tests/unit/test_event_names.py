"""Journey: a technician reads the event log on the touchscreen, in English or German.

Every kind of event the daemon can write is a member of ``EventKind`` (every writer takes
one, so mypy refuses a kind that is not), and every member has a name a person can read,
so a new event without a name fails here rather than showing up on the screen as
``remote_command_refused``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kiosk.protocol.events import EventKind, JobKind, Severity, job_finished, job_started
from kiosk.ui.event_names import EVENT_NAMES, event_name
from kiosk.ui.i18n import set_language


@pytest.fixture
def german() -> Iterator[None]:
    set_language("de")
    yield
    set_language("en")


def test_every_kind_of_event_has_a_name() -> None:
    unnamed = [kind for kind in EventKind if kind not in EVENT_NAMES]
    assert unnamed == []


def test_no_name_is_kept_for_an_event_that_no_longer_exists() -> None:
    stale = [kind for kind in EVENT_NAMES if not isinstance(kind, EventKind)]
    assert stale == []
    assert len(EVENT_NAMES) == len(EventKind)


def test_every_kind_of_event_has_a_german_name(german: None) -> None:
    assert event_name(EventKind.REMOTE_COMMAND_REFUSED) == "Fernbefehl abgelehnt"
    assert event_name("fleet_link_down") == "Netzverbindung unterbrochen"
    untranslated = [kind for kind in EventKind if event_name(kind) == EVENT_NAMES[kind]]
    assert untranslated == []


def test_a_kind_read_from_the_log_is_named_like_its_member() -> None:
    assert event_name("self-test_finished") == "Self-test finished"
    assert event_name(EventKind.SELF_TEST_FINISHED) == "Self-test finished"


def test_an_unknown_kind_is_shown_as_it_is() -> None:
    assert event_name("something_new") == "something_new"


def test_every_job_starts_and_finishes_with_an_event_of_its_own() -> None:
    started = {job_started(job) for job in JobKind}
    finished = {job_finished(job) for job in JobKind}
    assert len(started) == len(finished) == len(JobKind)
    assert [str(job_started(j)) for j in JobKind] == [f"{j}_started" for j in JobKind]
    assert [str(job_finished(j)) for j in JobKind] == [f"{j}_finished" for j in JobKind]


def test_kinds_and_severities_keep_their_wire_values() -> None:
    """The stored log, the API and the network carry the values: a renamed member keeps
    its value."""
    assert {str(s) for s in Severity} == {"info", "warning", "alarm"}
    assert str(EventKind.UNLOCK) == "unlock"
    assert str(EventKind.BUS_SCAN_STARTED) == "bus-scan_started"
    assert f"{EventKind.OPEN_NOT_DETECTED}" == "open_not_detected"
