"""The config file: what loads, what is refused, and what the operator is told."""

from __future__ import annotations

import importlib.util
import json
import tomllib
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import drivers.base
from drivers.base import BoardSpec, ChannelReading, ChannelSpec, Driver
from drivers.errors import DriverError
from kiosk.config import (
    DEFAULT_SIZES,
    MAX_PULSE_MS,
    Config,
    ConfigError,
    DoorsSection,
    LocksSection,
    NotifySection,
    PolicySection,
    SecuritySection,
    load_config,
)
from kiosk.errors import InvalidInput, NotFound

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


class FakeDriver(Driver):
    """A driver that does nothing; only its OPTIONS matter here."""

    OPTIONS: ClassVar[dict[str, tuple[type, object]]] = {
        "port": (str, "/dev/ttyUSB0"),
        "baud": (int, 19200),
        "reply_timeout_s": (float, 0.2),
        "crc": (bool, True),
    }

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def all_off(self) -> None:
        pass

    def pulse(self, lock: int, seconds: float) -> None:
        pass

    def read(self) -> dict[int, ChannelReading]:
        return {}


class FakeSimDriver(FakeDriver):
    """Stands in for drivers.sim until (or where) it is not importable."""

    OPTIONS: ClassVar[dict[str, tuple[type, object]]] = {
        "person": (str, "auto"),
        "open_delay_s": (float, 0.0),
        "close_delay_s": (float, 2.0),
        "state_file": (str, ""),
        "control_socket": (str, ""),
        "fire_log": (str, ""),
    }


class PinnedDriver(FakeDriver):
    """Claims GPIO pins as the gpio driver does, and refuses a pin listed twice."""

    OPTIONS: ClassVar[dict[str, tuple[type, object]]] = {"pins": (list[int], ())}

    def __init__(self, spec: BoardSpec) -> None:
        super().__init__(spec)
        pins = list(spec.options["pins"])
        if len(set(pins)) != len(pins):
            raise DriverError(spec.name, "a pin is listed twice")
        self.gpio_pins = {pin: f"pins[{i}]" for i, pin in enumerate(pins)}


@pytest.fixture(autouse=True)
def fake_drivers(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = drivers.base._REGISTRY
    monkeypatch.setitem(registry, "fake", f"{__name__}:FakeDriver")
    monkeypatch.setitem(registry, "pinned", f"{__name__}:PinnedDriver")
    monkeypatch.setitem(registry, "broken", "no_such_module_for_tests:Driver")
    if importlib.util.find_spec("drivers.sim") is None:
        monkeypatch.setitem(registry, "sim", f"{__name__}:FakeSimDriver")


BOARDS_AND_COMPARTMENTS = """
[[boards]]
name = "top"
driver = "fake"

[[compartments]]
id = "A01"
size = "S"
board = "top"
lock = 1

[[compartments]]
id = "A02"
size = "M"
board = "top"
lock = 2
"""


def write_config(
    tmp_path: Path, extra: str = "", *, kiosk: str = 'id = "T-1"', name: str = "kiosk.toml"
) -> Path:
    """A valid small config; ``extra`` is appended (more tables), ``kiosk`` is [kiosk]'s body."""
    path = tmp_path / name
    path.write_text(f"[kiosk]\n{kiosk}\n{BOARDS_AND_COMPARTMENTS}\n{extra}\n", encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems


def test_demo_config_loads() -> None:
    config = load_config(CONFIG_DIR / "demo.toml")

    assert config.demo is True
    assert config.kiosk.id == "DEMO-01"
    assert config.kiosk.name == "Demo kiosk, Main Street 1"
    assert config.kiosk.languages == ("en", "de")
    assert config.kiosk.operator_contact == "Call +49 30 1234567 (24 h)"
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

    for section in ("policy", "doors", "locks", "security", "notify", "sizes", "demo"):
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


def test_unknown_key_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    path = write_config(tmp_path, kiosk='id = "T-1"\nlangauges = ["en"]')

    assert problems_of(path) == [
        f"{path}: kiosk.langauges: unknown key (did you mean 'languages'?)"
    ]


def test_a_language_the_touchscreen_cannot_show_is_refused_naming_the_key(
    tmp_path: Path,
) -> None:
    path = write_config(tmp_path, kiosk='id = "T-1"\nlanguages = ["en", "fr"]')

    assert problems_of(path) == [
        f"{path}: kiosk.languages[1]: the touchscreen has no translation for 'fr' (it has: en, de)"
    ]


def test_unknown_top_level_key_and_section_key_are_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[polcy]\nhold_hours = 10\n\n[doors]\ncolour = 'red'")

    problems = problems_of(path)

    assert f"{path}: polcy: unknown key (did you mean 'policy'?)" in problems
    assert any(p.startswith(f"{path}: doors.colour: unknown key (known: ") for p in problems)


def test_wrong_type_names_the_value_and_its_type(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, "[policy]\npickup_code_digits = 'abc'\n\n[doors]\nopen_retries = true"
    )

    assert problems_of(path) == [
        f"{path}: policy.pickup_code_digits: must be an integer, got 'abc' (string)",
        f"{path}: doors.open_retries: must be an integer, got true (boolean)",
    ]


def test_an_integer_is_fine_where_a_number_is_expected(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "[policy]\nhold_hours = 48\nreminder_hours = [12]"))

    assert config.policy.hold_hours == 48.0
    assert isinstance(config.policy.hold_hours, float)
    assert config.policy.reminder_hours == (12.0,)


def test_value_out_of_range_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[policy]\npickup_code_digits = 4")

    assert problems_of(path) == [
        f"{path}: policy.pickup_code_digits: must be between 6 and 12, got 4"
    ]


def test_a_hold_extension_limit_past_thirty_days_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[policy]\nmax_extend_hours = 721")

    assert problems_of(path) == [
        f"{path}: policy.max_extend_hours: must be between 0 and 720, got 721"
    ]


def test_holds_that_cannot_be_extended_are_a_valid_choice(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "[policy]\nmax_extend_hours = 0"))

    assert config.policy.max_extend_hours == 0.0


def test_pulse_longer_than_the_hard_cap_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[locks]\npulse_ms = 3000")

    assert problems_of(path) == [
        f"{path}: locks.pulse_ms: must be at most {MAX_PULSE_MS} (the hard cap), got 3000"
    ]


def test_default_reminders_after_expiry_are_left_out(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "[policy]\nhold_hours = 48"))

    assert config.policy.reminder_hours == (24.0,)


def test_related_values_must_agree(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "[policy]\nhold_hours = 24\nreminder_hours = [12, 30]\n\n"
        "[doors]\nremind_after_s = 60\nleft_open_after_s = 60\n\n"
        "[security]\nlockout_initial_s = 60\nlockout_max_s = 10",
    )

    assert problems_of(path) == [
        f"{path}: policy.reminder_hours[1]: must be less than hold_hours (24), got 30",
        f"{path}: doors.left_open_after_s: must be greater than remind_after_s (60), got 60",
        f"{path}: security.lockout_max_s: must be at least lockout_initial_s (60), got 10",
    ]


def test_duplicate_compartment_id_names_both_entries(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, '[[compartments]]\nid = "A01"\nsize = "L"\nboard = "top"\nlock = 3'
    )

    assert problems_of(path) == [
        f"{path}: compartments[2].id: duplicate compartment id 'A01' (also compartments[0])"
    ]


def test_two_compartments_on_one_lock_channel_are_refused(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, '[[compartments]]\nid = "A03"\nsize = "L"\nboard = "top"\nlock = 2'
    )

    assert problems_of(path) == [
        f"{path}: compartments[2].lock: lock 2 of board 'top' is already used by compartment A02"
    ]


def test_unknown_size_lists_the_sizes(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, '[[compartments]]\nid = "A03"\nsize = "XXL"\nboard = "top"\nlock = 3'
    )

    assert problems_of(path) == [
        f"{path}: compartments[2].size: unknown size 'XXL' (sizes: S, M, L, XL)"
    ]


def test_compartment_on_an_undefined_board_is_refused(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, '[[compartments]]\nid = "A03"\nsize = "S"\nboard = "bottom"\nlock = 1'
    )

    assert problems_of(path) == [
        f"{path}: compartments[2].board: board 'bottom' is not defined in [[boards]] (boards: top)"
    ]


def test_unknown_driver_lists_the_known_ones(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[[boards]]\nname = "low"\ndriver = "zigbee"')

    (problem,) = problems_of(path)

    assert problem.startswith(f"{path}: boards[1].driver: unknown driver 'zigbee' (")
    assert "fake" in problem


def test_driver_that_cannot_be_loaded_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[[boards]]\nname = "low"\ndriver = "broken"')

    (problem,) = problems_of(path)

    assert problem.startswith(f"{path}: boards[1].driver: driver 'broken' cannot be loaded: ")


def test_driver_options_are_checked_against_the_driver(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        '[[boards]]\nname = "low"\ndriver = "fake"\nbuad = 9600\ncrc = 1\nbaud = true\n'
        'reply_timeout_s = "fast"',
    )

    assert sorted(problems_of(path)) == [
        f"{path}: boards[1].baud: must be an integer, got true (boolean)",
        f"{path}: boards[1].buad: unknown option for driver 'fake' (did you mean 'baud'?)",
        f"{path}: boards[1].crc: must be true or false, got 1 (integer)",
        f"{path}: boards[1].reply_timeout_s: must be a number, got 'fast' (string)",
    ]


def test_driver_options_accept_an_integer_for_a_number(tmp_path: Path) -> None:
    config = load_config(
        write_config(tmp_path, '[[boards]]\nname = "low"\ndriver = "fake"\nreply_timeout_s = 1')
    )

    assert config.boards[1].options["reply_timeout_s"] == 1.0
    assert config.boards[1].options["baud"] == 19200


def test_array_options_are_checked_element_by_element(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        '[[boards]]\nname = "low"\ndriver = "pinned"\npins = [4, "5", true]\n'
        '[[boards]]\nname = "aux"\ndriver = "pinned"\npins = 6',
    )

    assert sorted(problems_of(path)) == [
        f"{path}: boards[1].pins[1]: must be an integer, got '5' (string)",
        f"{path}: boards[1].pins[2]: must be an integer, got true (boolean)",
        f"{path}: boards[2].pins: must be an array, got 6 (integer)",
    ]


def test_array_option_of_integers_is_accepted(tmp_path: Path) -> None:
    config = load_config(
        write_config(tmp_path, '[[boards]]\nname = "low"\ndriver = "pinned"\npins = [4, 5]')
    )

    assert config.boards[1].options["pins"] == [4, 5]


def test_what_a_driver_refuses_to_be_built_from_is_a_config_problem(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[[boards]]\nname = "low"\ndriver = "pinned"\npins = [4, 4]')

    assert problems_of(path) == [f"{path}: boards[1]: a pin is listed twice"]


def test_one_gpio_pin_on_two_boards_is_refused(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        '[[boards]]\nname = "low"\ndriver = "pinned"\npins = [4, 17]\n'
        '[[boards]]\nname = "aux"\ndriver = "pinned"\npins = [18, 17]',
    )

    assert problems_of(path) == [
        f"{path}: boards[2]: GPIO 17 (pins[1]) is already used by board 'low' (pins[1])"
    ]


def test_duplicate_board_name_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[[boards]]\nname = "top"\ndriver = "fake"')

    assert problems_of(path) == [
        f"{path}: boards[1].name: board 'top' is already defined by boards[0]"
    ]


def test_missing_file_is_one_problem_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"

    assert problems_of(path) == [f"{path}: cannot read: file not found"]


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[kiosk]\nid = "T-1"\nname = \n', encoding="utf-8")

    (problem,) = problems_of(path)

    assert problem.startswith(f"{path}: not valid TOML: ")
    assert "line 3" in problem


def test_several_problems_are_reported_at_once(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        '[locks]\npulse_ms = 3000\n\n[[compartments]]\nid = "A01"\nsize = "XXL"\n'
        'board = "top"\nlock = 2',
        kiosk='id = "has space"\nlangauges = ["en"]',
    )

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    problems = caught.value.problems
    assert len(problems) == 6
    assert str(caught.value) == "\n".join(problems)
    assert all(p.startswith(f"{path}: ") for p in problems)
    keys = [p.split(": ")[1] for p in problems]
    assert set(keys) == {
        "kiosk.id",
        "kiosk.langauges",
        "locks.pulse_ms",
        "compartments[2].id",
        "compartments[2].size",
        "compartments[2].lock",
    }


def test_kiosk_boards_and_compartments_are_required(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text("[policy]\nhold_hours = 24\n", encoding="utf-8")

    assert problems_of(path) == [
        f"{path}: kiosk: missing (required): the file needs a [kiosk] table",
        f"{path}: boards: at least one [[boards]] table is required",
        f"{path}: compartments: at least one [[compartments]] table is required",
    ]


def test_notify_backends_need_their_settings(tmp_path: Path) -> None:
    webhook = write_config(
        tmp_path, '[notify]\nbackend = "webhook"\n\n[notify.webhook]\nurl = "ftp://x"'
    )
    smtp = write_config(tmp_path, '[notify]\nbackend = "smtp"', name="smtp.toml")

    assert problems_of(webhook) == [
        f"{webhook}: notify.webhook.url: must be an http:// or https:// URL when "
        "backend = 'webhook'",
        f"{webhook}: notify.webhook.secret: is required when backend = 'webhook'",
    ]
    assert problems_of(smtp) == [
        f"{smtp}: notify.smtp.host: is required when backend = 'smtp'",
        f"{smtp}: notify.smtp.from: is required when backend = 'smtp'",
    ]


def test_webhook_backend_reads_its_table(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        '[notify]\nbackend = "webhook"\n\n[notify.webhook]\n'
        'url = "https://hooks.example.com/locker"\nsecret = "s3cret"',
    )

    notify = load_config(path).notify

    assert (notify.backend, notify.webhook_url, notify.webhook_secret) == (
        "webhook",
        "https://hooks.example.com/locker",
        "s3cret",
    )


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


def test_duplicate_size_name_is_refused(tmp_path: Path) -> None:
    sizes = "".join(
        f'[[sizes]]\nname = "{name}"\nwidth_mm = 400\nheight_mm = {h}\ndepth_mm = 500\n\n'
        for name, h in (("S", 100), ("M", 200), ("M", 300))
    )
    path = write_config(tmp_path, sizes)

    assert problems_of(path) == [f"{path}: sizes[2].name: size 'M' is already defined by sizes[1]"]


def test_relative_paths_are_resolved_against_the_config_directory(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    path = write_config(
        tmp_path / "etc", kiosk='id = "T-1"\ndata_dir = "../data"\nsocket = "run/api.sock"'
    )

    kiosk = load_config(path).kiosk

    assert kiosk.data_dir.resolve() == (tmp_path / "data").resolve()
    assert kiosk.socket == (tmp_path / "etc" / "run" / "api.sock").absolute()


def test_board_specs_give_each_driver_its_channels(tmp_path: Path) -> None:
    config = load_config(
        write_config(
            tmp_path,
            '[[boards]]\nname = "low"\ndriver = "fake"\npower_group = "aux"\nport = "/dev/ttyS1"'
            '\n\n[[compartments]]\nid = "B01"\nsize = "XL"\nboard = "low"\nlock = 1',
            kiosk='id = "T-1"\ndata_dir = "/srv/locker"',
        )
    )

    top, low = config.board_specs()

    assert top == BoardSpec(
        name="top",
        driver="fake",
        channels=(ChannelSpec(1, "A01"), ChannelSpec(2, "A02")),
        power_group="main",
        options={"port": "/dev/ttyUSB0", "baud": 19200, "reply_timeout_s": 0.2, "crc": True},
        data_dir=Path("/srv/locker"),
    )
    assert low.channels == (ChannelSpec(1, "B01"),)
    assert low.power_group == "aux"
    assert low.options["port"] == "/dev/ttyS1"


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


# --- any document: a Config or a ConfigError, never a crash -----------------------------

FILE_INBOX = '[notify]\nbackend = "file"\n\n[notify.file]\npath = "inbox.jsonl"'


def test_the_file_back_end_writing_codes_in_clear_is_refused_outside_demo_mode(
    tmp_path: Path,
) -> None:
    production = write_config(tmp_path, FILE_INBOX)
    demo = tmp_path / "demo.toml"
    demo.write_text("demo = true\n" + production.read_text(), encoding="utf-8")

    assert problems_of(production) == [
        f"{production}: notify.backend: 'file' writes pickup codes in plain text: it is for "
        "the demo and tests only (demo = true at the top of the file); a kiosk with customers "
        "uses 'webhook' or 'smtp'"
    ]
    assert load_config(demo).notify.backend == "file"


VALID_DOCUMENT: dict[str, Any] = {
    "demo": False,
    "kiosk": {"id": "T-1", "languages": ["en", "de"], "data_dir": "data"},
    "policy": {"hold_hours": 48, "reminder_hours": [12.5]},
    "doors": {"remind_after_s": 20, "left_open_after_s": 90},
    "locks": {"pulse_ms": 400},
    "security": {"lockout_initial_s": 10},
    "notify": {"backend": "webhook", "webhook": {"url": "https://x.example", "secret": "k"}},
    "sizes": [
        {"name": "S", "width_mm": 400, "height_mm": 100, "depth_mm": 500},
        {"name": "L", "width_mm": 400, "height_mm": 300, "depth_mm": 500},
    ],
    "boards": [{"name": "top", "driver": "fake", "baud": 9600, "reply_timeout_s": 1}],
    "compartments": [
        {"id": "A01", "size": "S", "board": "top", "lock": 1},
        {"id": "A02", "size": "L", "board": "top", "lock": 2, "accessible": True},
    ],
}

_TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=12)
_KEYS = st.sampled_from(["id", "lock", "size", "board", "driver", "name", "baud", "url"]) | _TEXT
_SCALARS = (
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | _TEXT
    | st.sampled_from(["S", "top", "fake", "sim", "broken", "A01", "webhook", "smtp"])
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=6,
)


def toml_value(value: object) -> str:
    """A tiny TOML writer: everything inline, which tomllib reads back as the same data."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    assert isinstance(value, dict)
    pairs = (f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}" for k, v in value.items())
    return "{" + ", ".join(pairs) + "}"


def to_toml(document: dict[str, Any]) -> str:
    return "".join(
        f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}\n" for k, v in document.items()
    )


def mutate(draw: st.DrawFn, node: object) -> object:
    """``node`` with one random change somewhere below it."""
    action = draw(st.sampled_from(["descend", "replace", "drop", "add"]))
    if action == "replace" or not isinstance(node, dict | list) or not node:
        return draw(_VALUES)
    if isinstance(node, dict):
        changed = dict(node)
        key = draw(st.sampled_from(sorted(changed)))
        if action == "descend":
            changed[key] = mutate(draw, changed[key])
        elif action == "drop":
            del changed[key]
        else:
            changed[draw(_KEYS)] = draw(_VALUES)
        return changed
    items = list(node)
    index = draw(st.integers(0, len(items) - 1))
    if action == "descend":
        items[index] = mutate(draw, items[index])
    elif action == "drop":
        del items[index]
    else:
        items.append(items[index])  # a duplicate: same id, same lock
    return items


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    document: object = VALID_DOCUMENT
    for _ in range(draw(st.integers(0, 4))):
        document = mutate(draw, document)
    return document if isinstance(document, dict) else {"kiosk": document}


def load_written(path: Path, document: dict[str, Any]) -> Config:
    path.write_text(to_toml(document), encoding="utf-8")
    return load_config(path)


def test_the_tiny_toml_writer_round_trips(tmp_path: Path) -> None:
    assert tomllib.loads(to_toml(VALID_DOCUMENT)) == VALID_DOCUMENT
    assert isinstance(load_written(tmp_path / "valid.toml", VALID_DOCUMENT), Config)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=documents())
def test_any_document_gives_a_config_or_a_config_error(
    tmp_path: Path, document: dict[str, Any]
) -> None:
    text = to_toml(document)
    tomllib.loads(text)  # the writer itself must produce valid TOML

    try:
        result = load_written(tmp_path / "fuzz.toml", document)
    except ConfigError as exc:
        assert exc.problems
        assert all(
            problem.startswith(str(tmp_path / "fuzz.toml") + ": ") for problem in exc.problems
        )
    else:
        assert isinstance(result, Config)


def test_a_tcp_listener_without_tls_or_token_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[api]\ntcp_listen = "0.0.0.0:8443"\ntls_cert = "cert.pem"\n')
    assert problems_of(path) == [
        f"{path}: api.tls_key: is required when tcp_listen is set (TLS and a token, always)",
        f"{path}: api.token_file: is required when tcp_listen is set (TLS and a token, always)",
    ]


def test_a_tcp_listener_needs_host_and_port(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[api]\ntcp_listen = "8443"\ntls_cert = "c"\n'
                        'tls_key = "k"\ntoken_file = "t"\n')  # fmt: skip
    assert problems_of(path) == [
        f"{path}: api.tcp_listen: must be HOST:PORT like '0.0.0.0:8443', got '8443'"
    ]


def test_a_fleet_link_needs_a_broker_credentials_and_pinned_keys(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[fleet]\nbroker = "broker.example.net"\n')
    assert problems_of(path) == [
        f"{path}: fleet.broker: must be HOST:PORT like 'broker.example.net:8883', "
        "got 'broker.example.net'",
        f"{path}: fleet.keyring: is required: the operator keys that remote commands are "
        "signed with",
        f"{path}: fleet.password_file: is required unless cert_file and key_file are given",
    ]


def test_a_fleet_link_without_tls_is_refused_unless_the_broker_is_on_loopback(
    tmp_path: Path,
) -> None:
    body = 'password_file = "pw"\nkeyring = "keys.toml"\ntls = false\n'
    remote = write_config(tmp_path, f'[fleet]\nbroker = "10.0.0.5:1883"\n{body}')
    assert problems_of(remote) == [
        f"{remote}: fleet.tls: may be false only for a broker on this machine's loopback"
    ]
    local = write_config(tmp_path, f'[fleet]\nbroker = "127.0.0.1:1883"\n{body}', name="l.toml")
    fleet = load_config(local).fleet
    assert fleet.enabled and fleet.host_port == ("127.0.0.1", 1883)
    assert fleet.keyring == tmp_path / "keys.toml" and fleet.remote_opens_per_hour == 10


def test_no_fleet_section_means_no_link(tmp_path: Path) -> None:
    assert load_config(write_config(tmp_path)).fleet.enabled is False


def test_two_modbus_boards_on_one_port_at_different_bauds_are_refused(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        '[[boards]]\nname = "mb1"\ndriver = "modbus"\nport = "/dev/ttyUSB0"\nbaud = 9600\n'
        '[[boards]]\nname = "mb2"\ndriver = "modbus"\nport = "/dev/ttyUSB0"\nbaud = 19200\n'
        '[[boards]]\nname = "mb3"\ndriver = "modbus"\nport = "/dev/ttyUSB1"\nbaud = 19200',
    )

    assert problems_of(path) == [
        f"{path}: boards[2]: baud 19200 on port /dev/ttyUSB0, where board 'mb1' has 9600: "
        "every board on one bus needs the same baud"
    ]
