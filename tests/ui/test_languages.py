"""Every string on the touchscreen comes from a catalog, and German is complete.

The catalogs are checked against the code (a string added without a catalog entry
fails), against each other (the committed .mo is the compiled .po) and for their
placeholders. Then the main journeys are walked in German against a real daemon: no
lookup may miss the catalog, and nothing English may be left on any screen.
"""

from __future__ import annotations

import contextlib
import gettext
import io
import re
import shutil
import string
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from kiosk.reasons import OOS_TEXTS, RESULT_TEXTS, DoorResult, OosReason
from kiosk.ui import i18n
from kiosk.ui.i18n import _
from kiosk.ui.screens.selftest import JobScreen
from kiosk.ui.words import reason_text, result_text
from testkit.daemon import COURIER, TECHNICIAN, Daemon
from testkit.ui import UiDriver
from tests.ui.test_customer_ui import stored

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "kiosk" / "ui" / "locale"
POT = LOCALE / f"{i18n.DOMAIN}.pot"
KEYWORDS: dict[str, Any] = {"_": None, "N_": None, "ngettext": (1, 2)}
"""The keywords tools/i18n.sh extracts."""


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def po_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"


def translations() -> list[str]:
    return [lang for lang in i18n.available_languages() if lang != "en"]


def ids(catalog: Catalog) -> set[Any]:
    return {m.id for m in catalog if m.id}


def in_the_code() -> set[Any]:
    """The messages of kiosk/ui as Babel extracts them today."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = extract_from_dir(ROOT / "kiosk" / "ui", method_map, options_map, KEYWORDS)
    return {message for _file, _line, message, _comments, _context in found}


def fields(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


# -- the catalogs -----------------------------------------------------------------------


def test_german_is_a_language_of_the_kiosk() -> None:
    assert "de" in translations()


def test_the_template_holds_exactly_the_strings_of_the_code() -> None:
    code, template = in_the_code(), ids(read(POT))
    assert not code - template, (
        f"not in the catalog template (run tools/i18n.sh): {code - template}"
    )
    assert not template - code, f"no longer in the code (run tools/i18n.sh): {template - code}"


@pytest.mark.parametrize("lang", translations())
def test_every_string_is_translated(lang: str) -> None:
    catalog = read(po_path(lang), lang)
    assert ids(catalog) == ids(read(POT)), "the .po is behind the template: run tools/i18n.sh"
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    untranslated = [m.id for m in catalog if m.id and not all(as_list(m.string))]
    assert not fuzzy, f"fuzzy entries in {lang}: {fuzzy}"
    assert not untranslated, f"untranslated in {lang}: {untranslated}"


@pytest.mark.parametrize("lang", translations())
def test_translations_keep_every_placeholder(lang: str) -> None:
    for m in read(po_path(lang), lang):
        if not m.id:
            continue
        wanted = set().union(*(fields(s) for s in as_list(m.id)))
        for text in as_list(m.string):
            assert fields(text) == wanted, f"{m.id!r} → {text!r}"


@pytest.mark.parametrize("lang", translations())
def test_the_committed_mo_is_the_compiled_po(lang: str) -> None:
    compiled = io.BytesIO()
    write_mo(compiled, read(po_path(lang), lang))
    committed = po_path(lang).with_suffix(".mo").read_bytes()
    ours, theirs = (
        gettext.GNUTranslations(io.BytesIO(b)) for b in (compiled.getvalue(), committed)
    )
    assert ours._catalog == theirs._catalog, "the .mo is stale: run tools/i18n.sh"


def test_the_catalog_script_changes_nothing_when_run_again() -> None:
    """tools/i18n.sh, twice, on a copy of the tree (the real one stays untouched)."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp)
        shutil.copy(ROOT / "babel.cfg", tree)
        shutil.copytree(ROOT / "tools", tree / "tools")
        shutil.copytree(
            ROOT / "kiosk" / "ui", tree / "kiosk" / "ui", ignore=shutil.ignore_patterns("*.pyc")
        )
        pybabel = ROOT / ".venv" / "bin" / "pybabel"
        env = {"PATH": "/usr/bin:/bin", "PYBABEL": str(pybabel) if pybabel.exists() else "pybabel"}

        def run() -> dict[Path, bytes]:
            subprocess.run(
                ["sh", "tools/i18n.sh"], cwd=tree, env=env, check=True, capture_output=True
            )
            return {p: p.read_bytes() for p in (tree / "kiosk/ui/locale").rglob("*") if p.is_file()}

        assert run() == run()


def as_list(value: str | tuple[str, ...] | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


# -- no English on a German screen ----------------------------------------------------------


def english_patterns(lang: str) -> list[re.Pattern[str]]:
    """The English source strings (placeholders as wildcards) that differ in ``lang``."""
    patterns = []
    for m in read(po_path(lang), lang):
        if not m.id:
            continue
        for english, translated in zip(as_list(m.id), as_list(m.string), strict=False):
            if english == translated:
                continue  # "OK", "PIN", "{door}: {detail}": the same in both
            parts = string.Formatter().parse(english)
            regex = "".join(re.escape(lit) + (".+" if name is not None else "")
                            for lit, name, _spec, _conv in parts)  # fmt: skip
            patterns.append(re.compile(regex, re.DOTALL))
    return patterns


def english_left(seen: set[str], lang: str) -> list[str]:
    patterns = english_patterns(lang)
    pieces = seen | {line for text in seen for line in text.split("\n")}
    return sorted(t for t in pieces if any(p.fullmatch(t) for p in patterns))


@pytest.fixture
def bilingual() -> Iterator[Daemon]:
    """A kiosk offering English and German, with four doors (a short self-test)."""
    with bilingual_daemon() as daemon:
        yield daemon


@contextlib.contextmanager
def bilingual_daemon(**kiosk: str) -> Iterator[Daemon]:
    """A started kiosk in English and German; ``kiosk`` keys replace [kiosk]'s, as
    TOML text (``name='{ en = "A", de = "B" }'``)."""
    root = Path(tempfile.mkdtemp(prefix="lk-", dir="/tmp"))
    daemon = Daemon(root, sizes=["S", "M", "L", "XL"])
    config = daemon.config_path.read_text()
    for key, value in kiosk.items():
        line = f"{key} = {value}"
        config = re.sub(rf"(?m)^{key} = .*$", lambda _m, line=line: line, config, count=1)
    daemon.config_path.write_text(
        config.replace("[kiosk]\n", '[kiosk]\nlanguages = ["en", "de"]\n')
    )
    try:
        yield daemon.start()
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)


class Watched(UiDriver):
    """The UI, remembering every string of every frame it drew."""

    def __init__(self, socket: str) -> None:
        super().__init__(socket)
        self.seen: set[str] = set()
        draw = self.app.draw

        def draw_and_remember() -> None:
            draw()
            if i18n.language() != "en":  # after a sign-out, home is in English again
                self.seen.update(self.app.texts)

        self.app.draw = draw_and_remember

    def type_keys(self, digits: str) -> None:
        for ch in digits:
            self.tap(f"key-{ch}")


def test_the_journeys_in_german_show_no_english_and_miss_no_string(bilingual: Daemon) -> None:
    daemon = bilingual
    door, code = stored(daemon, barcode="JJD000111", size="M")
    ui = Watched(str(daemon.touchscreen_socket))
    try:
        ui.wait_until(lambda: ui.app.online and ui.app.kiosk is not None, what="the UI")
        ui.wait_for_text("Pick up a parcel")
        ui.tap("lang-de")  # the choice on the home screen
        ui.seen.clear()
        i18n.missing.clear()
        ui.wait_for_text("Paket abholen")
        customer_journeys(ui, door, code)
        courier_journey(ui)
        ui.tap("lang-de")  # the courier's sign-out brought back the kiosk's first language
        ui.wait_for_text("Paket abholen")
        technician_journey(ui, daemon)
        left = english_left(ui.seen, "de")
        assert not i18n.missing, f"no German for: {sorted(i18n.missing)}"
        assert not left, f"English on a German screen: {left}"
        daemon_english = sorted(t for t in ui.seen if any(e in t for e in DAEMON_ENGLISH))
        assert not daemon_english, f"the daemon's English on a German screen: {daemon_english}"
        ui.tap("lang-en")
        ui.wait_for_text("Pick up a parcel")
    finally:
        i18n.set_language("en")
        ui.close()


def test_a_german_screen_gives_the_kiosks_name_and_help_line_in_german() -> None:
    per_language = {
        "name": '{ en = "Main Street 1", de = "Hauptstraße 1" }',
        "operator_contact": '{ en = "Call 030 999", de = "Tel. 030 999" }',
    }
    with bilingual_daemon(**per_language) as daemon:
        ui = UiDriver(str(daemon.touchscreen_socket))
        try:
            ui.wait_until(lambda: ui.app.online and ui.app.kiosk is not None, what="the UI")
            ui.wait_for_text("Help: Call 030 999")
            assert ui.shows("Main Street 1")
            ui.tap("lang-de")
            ui.wait_for_text("Hilfe: Tel. 030 999")
            assert ui.shows("Hauptstraße 1")
            assert not [t for t in ui.texts() if "Call" in t or "Main Street" in t]
            status = daemon.client().get("/v1/status")["kiosk"]
            assert status["name"] == "Main Street 1"  # lockerctl's words are English
        finally:
            i18n.set_language("en")
            ui.close()


def customer_journeys(ui: Watched, door: str, code: str) -> None:
    ui.tap("pickup")
    ui.type_keys(str((int(code[0]) + 1) % 10) + code[1:])  # one digit wrong
    ui.tap("ok")
    ui.wait_for_text(_("That code is not right. Please check it and try again."))
    ui.tap("key-clear")  # the wrong code stays until the person clears it
    ui.type_keys(code)
    ui.tap("ok")
    ui.wait_for_text(
        _("Door {door} is open: take your parcel and close the door.").format(door=door)
    )
    ui.wait_for_text(_("Thank you!"))
    ui.tap("done")
    ui.wait_for_text(_("Pick up a parcel"))


def courier_journey(ui: Watched) -> None:
    ui.tap("courier")
    ui.wait_for_text(_("Sign in: scan your badge or type your name."))
    ui.type_keys(COURIER[0].upper())
    ui.tap("next")
    ui.wait_for_text(_("{name}: type your PIN.").format(name=COURIER[0].upper()))
    ui.type_keys(COURIER[1])
    ui.tap("ok")
    ui.wait_for_text(_("Signed in as {name}").format(name=COURIER[0]))
    ui.tap("deposit")
    ui.type_keys("PKG7")
    ui.tap("ok")
    ui.wait_for_text(_("Choose a size for parcel {barcode}.").format(barcode="PKG7"))
    ui.tap("size-S")
    ui.wait_for_text(_("The recipient's phone number"))
    ui.tap("key-extra")  # the "+"
    ui.type_keys("4915112345678")
    ui.tap("ok")
    ui.wait_for_text(_("Stored in {door}; the recipient has been notified.").format(door="A01"))
    ui.tap("next")
    ui.tap("menu")
    ui.tap("returns")
    ui.wait_for_text(_("There are no expired parcels to collect."))
    ui.tap("sign-out")
    ui.wait_for_text("Pick up a parcel")


DAEMON_ENGLISH = [
    "did not open",
    "Door ",
    *(text.split("{")[0] for text in RESULT_TEXTS.values() if text != "opened"),
    *OOS_TEXTS.values(),
]
"""What the daemon says in English (``message``, ``detail``, ``reason``): never on screen."""


def technician_journey(ui: Watched, daemon: Daemon) -> None:
    ui.tap("courier")
    ui.type_keys(TECHNICIAN[0].upper())
    ui.tap("next")
    ui.type_keys(TECHNICIAN[1])
    ui.tap("ok")
    ui.wait_for_text(_("Technician: {user}").format(user=TECHNICIAN[0]))
    ui.wait_for_text("A04\n" + _("free"))
    ui.tap("door-A02")
    ui.wait_for_text(_("Compartment {door}").format(door="A02"))
    ui.tap("out-of-service")
    ui.wait_for_text(_("Why is {door} out of service?").format(door="A02"))
    ui.tap("cancel")
    ui.tap("door-A01")  # the courier's parcel
    ui.wait_for_text(_("Parcel: {barcode}").format(barcode="PKG7"))
    ui.tap("extend")
    ui.wait_for_text(_("Hold extended: pickup until {time}.").split("{")[0])
    ui.tap("back")
    ui.tap("open-all")  # A01 holds the courier's parcel: skipped unless included
    ui.wait_for_text(
        i18n.ngettext(
            "Open {count} door, one after another?", "Open {count} doors, one after another?", 3
        ).format(count=3)
    )
    ui.tap("include-parcels")
    ui.wait_for_text(_("Open all {count} doors, one after another?").format(count=4))
    ui.tap("cancel")
    ui.tap("selftest")
    ui.wait_for_text(_("Self-test of every lock and door sensor."))
    ui.tap("take-out-of-service")
    ui.tap("start")
    ui.wait_until(lambda: isinstance(ui.app.screen, JobScreen) and ui.app.screen.job is not None
                  and not ui.app.screen.running, timeout=30, what="the self-test")  # fmt: skip
    ui.wait_for_text(_("Self-test finished: {passed} passed, {failed} failed.")
                     .format(passed=3, failed=0))  # fmt: skip
    ui.tap("back")
    open_all_with_a_jammed_door(ui, daemon, "A03")
    ui.tap("event-log")
    ui.wait_for_text(_("Event log, newest first"))
    # Events streamed in while the first page loads show at once; "Older" waits for it.
    ui.wait_until(lambda: ui.shows(_("Info")) and ui.button("older").enabled,
                  what="the events, with older ones to page to")  # fmt: skip
    ui.tap("older")
    ui.tap("newer")
    ui.advance(61)  # the idle time-out
    ui.wait_for_text(_("Need more time?"))
    ui.tap("more-time")
    ui.advance(61)
    ui.wait_for_text(_("Need more time?"))
    ui.tap("finish")
    ui.wait_for_text("Pick up a parcel")
    assert ui.app.session is None


def open_all_with_a_jammed_door(ui: Watched, daemon: Daemon, jammed: str) -> None:
    daemon.sim().jam(jammed)
    ui.tap("open-all")
    ui.tap("confirm")
    ui.wait_for_text(_("All doors done: {opened} opened, {failed} did not open.")
                     .format(opened=2, failed=1), timeout=30)  # fmt: skip
    did_not_open = _("The door did not open.")
    assert ui.shows(_("{door}: {detail}").format(door=jammed, detail=did_not_open))
    ui.tap("back")
    ui.tap(f"door-{jammed}")
    ui.wait_for_text(_("Reason: {reason}").format(reason=did_not_open))
    daemon.sim().unjam(jammed)
    ui.tap("in-service")
    ui.wait_until(lambda: not ui.shows(_("Reason: {reason}").format(reason=did_not_open)),
                  what=f"{jammed} back in service")  # fmt: skip
    ui.tap("back")


@pytest.mark.parametrize("lang", translations())
def test_every_code_the_daemon_sends_has_words_of_the_screen(lang: str) -> None:
    """A result or reason code without its own words would fall back to a general line."""
    i18n.set_language(lang)
    i18n.missing.clear()
    try:
        general = {_("Something went wrong with this door."), _("Out of service.")}
        for code in DoorResult:
            if code is not DoorResult.ERROR:
                text = result_text({"code": str(code), "seconds": 30})
                assert text not in general, code
        for reason in OosReason:
            detail = {"code": "did_not_open"} if reason is OosReason.SELF_TEST else None
            compartment = {"reason": "x", "reason_code": str(reason), "reason_detail": detail}
            assert reason_text(compartment) not in general, reason
        assert not i18n.missing
    finally:
        i18n.set_language("en")


def test_the_next_person_starts_in_the_kiosks_language_after_a_sign_out_or_time_out(
    bilingual: Daemon,
) -> None:
    ui = UiDriver(str(bilingual.touchscreen_socket))
    try:
        ui.wait_until(lambda: ui.app.online and ui.app.kiosk is not None, what="the UI")
        ui.tap("lang-de")
        ui.tap("courier")
        ui.type(COURIER[0])
        ui.tap("next")
        ui.type(COURIER[1])
        ui.tap("ok")
        ui.wait_for_text("Angemeldet als")
        ui.tap("sign-out")
        ui.wait_for_text("Pick up a parcel")

        ui.tap("lang-de")
        ui.tap("pickup")
        ui.wait_for_text("Geben Sie Ihren Abholcode ein")
        ui.advance(61)  # nobody there: "Need more time?", then home
        ui.wait_for_text("Brauchen Sie mehr Zeit?")
        ui.advance(31)
        ui.wait_for_text("Pick up a parcel")

        ui.tap("lang-de")
        ui.tap("pickup")
        ui.tap("back")  # a person going back is still the same person
        ui.wait_for_text("Paket abholen")
    finally:
        i18n.set_language("en")
        ui.close()


@pytest.mark.parametrize("size", [(800, 480), (480, 800)])
def test_home_offers_every_language_the_kiosk_lists(daemon: Daemon, size: tuple[int, int]) -> None:
    ui = UiDriver(str(daemon.touchscreen_socket), size)
    try:
        ui.wait_until(lambda: ui.app.kiosk is not None, what="the UI")
        # as a kiosk with a third catalog installed would list them
        ui.app.kiosk = {**(ui.app.kiosk or {}), "languages": ["en", "de", "fr"]}
        names = [b.name for b in (ui.button("pickup"), *ui.app.buttons)]
        assert [n for n in names if n.startswith("lang-")] == ["lang-en", "lang-de", "lang-fr"]
        assert min(min(b.rect.size) for b in ui.app.buttons) >= ui.app.metrics.min_target
        assert ui.app.overflows == []
    finally:
        ui.close()


@pytest.mark.parametrize(("lang", "top_row"), [("en", "QWERTYUIOP"), ("de", "QWERTZUIOP")])
def test_the_on_screen_keyboard_is_the_one_people_of_the_language_know(
    bilingual: Daemon, lang: str, top_row: str
) -> None:
    ui = UiDriver(str(bilingual.touchscreen_socket))
    try:
        ui.wait_until(lambda: ui.app.online and ui.app.kiosk is not None, what="the UI")
        ui.tap(f"lang-{lang}")
        ui.tap("courier")  # the name is typed on the keyboard
        for letter in COURIER[0].upper():
            ui.tap(f"key-{letter}")
        rows = {ui.button(f"key-{c}").rect.centery for c in top_row}
        assert len(rows) == 1, f"{top_row} is not one row"
        lefts = [ui.button(f"key-{c}").rect.left for c in top_row]
        assert lefts == sorted(lefts), f"{top_row} is not in that order"
        ui.tap("next")
        for digit in COURIER[1]:
            ui.tap(f"key-{digit}")
        ui.tap("ok")
        ui.wait_until(lambda: ui.app.session is not None, what="the sign-in")
        ui.tap("deposit")
        for key in "ZY-1":  # Z and Y where the person looks for them
            ui.tap(f"key-{key}")
        ui.tap("ok")
        ui.wait_for_text("ZY-1")
        assert bilingual.events("unlock") == []  # asked for a size first: nothing opened
        assert [e["actor"] for e in bilingual.events("signed_in")] == [COURIER[0]]
    finally:
        i18n.set_language("en")
        ui.close()
