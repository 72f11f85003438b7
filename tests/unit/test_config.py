"""The config file: what loads, the defaults filled in, and what a loaded config answers."""

from __future__ import annotations

from pathlib import Path

import pytest

import drivers.base
from kiosk.config import (
    DEFAULT_SIZES,
    DoorsSection,
    LocksSection,
    NotifySection,
    PolicySection,
    SecuritySection,
    load_config,
)
from kiosk.errors import InvalidInput, NotFound
from tests.unit.config_files import problems_of, write_config

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"

pytestmark = pytest.mark.usefixtures("fake_drivers")


def test_demo_config_loads() -> None:
    config = load_config(CONFIG_DIR / "demo.toml")

    assert config.demo is True
    assert config.kiosk.id == "DEMO-01"
    assert config.kiosk.name == "Demo kiosk, Main Street 1"
    assert config.kiosk.languages == ("en", "de")
    assert config.kiosk.operator_contact == "Call +49 30 1234567 (24 h)"
    assert config.kiosk.operator_contact_by_language["de"] == "Tel. +49 30 1234567 (24 h)"
    assert config.kiosk.name_by_language["de"] == "Demo-Automat, Hauptstraße 1"
    assert [(b.name, b.driver, b.options["address"]) for b in config.boards] == [
        ("left", "kerong", 0),
        ("right", "kerong", 1),
    ]
    assert [c.id for c in config.compartments] == (
        [f"A{n:02d}" for n in range(1, 7)]
        + [f"B{n:02d}" for n in range(1, 6)]
        + [f"C{n:02d}" for n in range(1, 6)]
    )
    assert [(c.board, c.lock) for c in config.compartments] == (
        [("left", n) for n in range(1, 12)] + [("right", n) for n in range(1, 6)]
    )
    assert {
        size: [c.size for c in config.compartments].count(size) for size in ("S", "M", "L", "XL")
    } == {
        "S": 6,
        "M": 5,
        "L": 3,
        "XL": 2,
    }
    assert [c.id for c in config.compartments if c.accessible] == ["A06", "C05"]


def test_full_example_config_shows_every_default(tmp_path: Path) -> None:
    example = load_config(CONFIG_DIR / "example-full.toml")
    minimal = load_config(write_config(tmp_path))

    for section in ("policy", "doors", "locks", "security", "notify", "sizes", "demo", "api",
                    "clock", "storage", "trace", "sim"):  # fmt: skip
        assert getattr(example, section) == getattr(minimal, section), section
    assert example.kiosk.data_dir == minimal.kiosk.data_dir
    assert example.kiosk.socket == minimal.kiosk.socket
    assert example.kiosk.languages == minimal.kiosk.languages
    assert example.boards[0].power_group == "main"
    sim_options = drivers.base.driver_class("sim").OPTIONS  # type: ignore[attr-defined]
    assert example.boards[0].options == {
        name: default for name, (_, default) in sim_options.items()
    }


def test_defaults_are_filled_in_for_everything_left_out(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))

    assert config.kiosk.name == "T-1"
    assert config.kiosk.data_dir == Path("/var/lib/locker-kiosk")
    assert config.kiosk.socket == Path("/run/locker-kiosk/api.sock")
    assert config.kiosk.languages == ("en",)
    assert config.kiosk.operator_contact == ""
    assert config.policy == PolicySection()
    assert config.policy.reminder_hours == (24.0, 60.0)
    assert config.doors == DoorsSection()
    assert config.locks == LocksSection(pulse_ms=500, gap_ms=150)
    assert config.security == SecuritySection()
    assert config.notify == NotifySection()
    assert config.sizes == DEFAULT_SIZES
    assert config.size_names() == ("S", "M", "L", "XL")
    assert config.demo is False
    board = config.boards[0]
    assert board.power_group == "main"
    assert board.options == {
        "port": "/dev/ttyUSB0",
        "baud": 19200,
        "reply_timeout_s": 0.2,
        "crc": True,
    }
    assert config.compartment("A01").accessible is False


def test_an_integer_is_fine_where_a_number_is_expected(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "[policy]\nhold_hours = 48\nreminder_hours = [12]"))

    assert config.policy.hold_hours == 48.0
    assert isinstance(config.policy.hold_hours, float)
    assert config.policy.reminder_hours == (12.0,)


def test_holds_that_cannot_be_extended_are_a_valid_choice(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "[policy]\nmax_extend_hours = 0"))

    assert config.policy.max_extend_hours == 0.0


def test_default_reminders_after_expiry_are_left_out(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "[policy]\nhold_hours = 48"))

    assert config.policy.reminder_hours == (24.0,)


def test_sizes_from_the_file_define_the_rank(tmp_path: Path) -> None:
    sizes = "".join(
        f'[[sizes]]\nname = "{name}"\nwidth_mm = 400\nheight_mm = {h}\ndepth_mm = 500\n\n'
        for name, h in (("S", 100), ("M", 200), ("Z", 300))
    )
    config = load_config(write_config(tmp_path, sizes))

    assert config.size_names() == ("S", "M", "Z")
    assert config.size_rank("Z") == 2
    with pytest.raises(InvalidInput):
        config.size_rank("XL")


def test_relative_paths_are_resolved_against_the_config_directory(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    path = write_config(
        tmp_path / "etc", kiosk='id = "T-1"\ndata_dir = "../data"\nsocket = "run/api.sock"'
    )

    kiosk = load_config(path).kiosk

    assert kiosk.data_dir.resolve() == (tmp_path / "data").resolve()
    assert kiosk.socket == (tmp_path / "etc" / "run" / "api.sock").absolute()


def test_with_data_dir_moves_data_and_socket(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))

    moved = config.with_data_dir(tmp_path / "demo")

    assert moved.kiosk.data_dir == tmp_path / "demo"
    assert moved.kiosk.socket == tmp_path / "demo" / "api.sock"
    assert moved.board_specs()[0].data_dir == tmp_path / "demo"
    assert config.kiosk.data_dir == Path("/var/lib/locker-kiosk")
    assert moved.compartments == config.compartments


def test_looking_up_an_unknown_compartment_is_not_found(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))

    assert config.compartment("A02").size == "M"
    with pytest.raises(NotFound):
        config.compartment("Z99")


def test_name_and_help_line_given_once_serve_every_language(tmp_path: Path) -> None:
    kiosk = 'id = "T-1"\nlanguages = ["en", "de"]\noperator_contact = "+49 30 999"'
    config = load_config(write_config(tmp_path, kiosk=kiosk))
    assert config.kiosk.name_by_language == {"en": "T-1", "de": "T-1"}
    assert config.kiosk.operator_contact_by_language == {"en": "+49 30 999", "de": "+49 30 999"}


def test_name_and_help_line_per_language_and_english_for_the_daemons_words(
    tmp_path: Path,
) -> None:
    kiosk = (
        'id = "T-1"\nlanguages = ["de", "en"]\n'
        'name = { de = "Hauptstraße 1", en = "Main Street 1" }\n'
        'operator_contact = { de = "Hilfe-Telefon 030 999", en = "Call 030 999" }'
    )
    config = load_config(write_config(tmp_path, kiosk=kiosk))
    assert config.kiosk.name == "Main Street 1"  # notifications and lockerctl speak English
    assert config.kiosk.operator_contact == "Call 030 999"
    assert config.kiosk.name_by_language["de"] == "Hauptstraße 1"
    assert config.kiosk.operator_contact_by_language["de"] == "Hilfe-Telefon 030 999"


def test_a_help_line_per_language_must_give_each_language_and_only_those(tmp_path: Path) -> None:
    kiosk = (
        'id = "T-1"\nlanguages = ["en", "de"]\n'
        'operator_contact = { en = "Call 030 999", fr = "Appelez 030 999" }\n'
        "name = 42"
    )
    problems = problems_of(write_config(tmp_path, kiosk=kiosk))
    assert any(
        "kiosk.operator_contact.fr: is not one of kiosk.languages (en, de)" in p for p in problems
    ), problems
    assert any(
        "kiosk.operator_contact: gives no text for 'de' (kiosk.languages: en, de)" in p
        for p in problems
    ), problems
    assert any(
        "kiosk.name: must be a string or a table by language, got 42" in p for p in problems
    ), problems
