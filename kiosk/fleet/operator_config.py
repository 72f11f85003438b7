"""The operator's config for ``locker-fleet``: one small TOML file, checked before any use.

::

    broker = "broker.example.net:8884"         # the broker's operator listener
    username = "operator"                      # the default
    password_file = "~/.config/locker-fleet.password"
    ca_file = "/etc/ssl/fleet-ca.pem"          # default: the system's CAs
    signing_key = "~/.config/locker-fleet/ops-2026.key"   # from ``locker-fleet keygen``
    kid = "ops-2026"

Optional: ``tls = false`` (accepted only for a broker on loopback), ``settle_s`` (how long
to gather retained state, 1.5 s) and ``timeout_s`` (how long to wait for a kiosk's answer,
15 s). Relative paths are taken from the file's directory. :func:`load_operator_config`
raises :class:`~kiosk.config.ConfigError` listing every problem, each naming the file and
the key.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.config import ConfigError
from kiosk.config.check import Problems, Table, read_toml
from kiosk.fleet.envelope import KeyringError, load_private
from kiosk.fleet.net import is_loopback

DEFAULT_PATH = Path("~/.config/locker-fleet.toml")
ENV_VAR = "LOCKER_FLEET_CONFIG"
_KID_RULE = r"[A-Za-z0-9_.-]{1,64}"


@dataclass(frozen=True)
class OperatorConfig:
    """A checked config. ``source`` is the file it came from, for messages."""

    source: Path
    host: str
    port: int
    username: str = "operator"
    password: str | None = None
    ca_file: Path | None = None
    tls: bool = True
    signing_key: Path | None = None
    kid: str | None = None
    settle_s: float = 1.5
    timeout_s: float = 15.0

    def load_signing_key(self) -> tuple[Ed25519PrivateKey, str]:
        """The key that signs commands and its id, or :class:`ConfigError` naming the key."""
        problems = Problems(str(self.source))
        if self.signing_key is None or self.kid is None:
            for name, value in (("signing_key", self.signing_key), ("kid", self.kid)):
                if value is None:
                    problems.add(name, "missing: signed commands need it (see locker-fleet keygen)")
            raise ConfigError(problems.messages)
        try:
            mode = self.signing_key.stat().st_mode
            key = load_private(self.signing_key)
        except (OSError, KeyringError) as exc:
            problems.add("signing_key", str(exc))
            raise ConfigError(problems.messages) from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            problems.add(
                "signing_key",
                f"{self.signing_key} may be read by others; make it private "
                f"(chmod 600 {self.signing_key})",
            )
            raise ConfigError(problems.messages)
        return key, self.kid


def config_path(given: str | None) -> Path:
    """``--config``, else ``$LOCKER_FLEET_CONFIG``, else ``~/.config/locker-fleet.toml``."""
    chosen = given or os.environ.get(ENV_VAR) or str(DEFAULT_PATH)
    return Path(chosen).expanduser()


def load_operator_config(path: Path) -> OperatorConfig:
    problems = Problems(str(path))
    raw = read_toml(
        path,
        problems,
        f"no such file (give --config FILE, or set {ENV_VAR}; docs/fleet-operator.md)",
    )
    if raw is None:
        raise ConfigError(problems.messages)
    t = Table(raw, "", problems)
    base = path.parent
    host, port, tls = _broker(t)
    config = OperatorConfig(
        source=path,
        host=host,
        port=port,
        username=t.get_str("username", "operator") or "operator",
        password=_password(t, base),
        ca_file=_existing_file(t, "ca_file", base),
        tls=tls,
        signing_key=_optional_path(t, "signing_key", base),
        kid=t.get_str("kid", "", pattern=_KID_RULE, rule="a key id like ops-2026") or None,
        settle_s=t.get_float("settle_s", 1.5, minimum=0.1, maximum=60.0),
        timeout_s=t.get_float("timeout_s", 15.0, minimum=0.1, maximum=300.0),
    )
    t.check_unknown()
    if problems:
        raise ConfigError(problems.messages)
    return config


def _broker(t: Table) -> tuple[str, int, bool]:
    text = t.get_str("broker")
    tls = t.get_bool("tls", True)
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = text, ""
    host = host.strip("[]")
    if text and (not host or not port_text.isdigit() or not 0 < int(port_text) < 65536):
        t.problem("broker", f"must be HOST:PORT, e.g. broker.example.net:8884, got {text!r}")
        return "", 0, tls
    if text and not tls and not is_loopback(host):
        t.problem("tls", f"false is accepted only for a broker on loopback, not {host!r}")
    return host, int(port_text or 0), tls


def _optional_path(t: Table, name: str, base: Path) -> Path | None:
    text = t.get_str(name, "")
    return (base / Path(text).expanduser()) if text else None


def _existing_file(t: Table, name: str, base: Path) -> Path | None:
    path = _optional_path(t, name, base)
    if path is not None and not path.is_file():
        t.problem(name, f"{path}: no such file")
    return path


def _password(t: Table, base: Path) -> str | None:
    path = _optional_path(t, "password_file", base)
    if path is None:
        return None
    try:
        password = path.read_text().strip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        t.problem("password_file", f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}")
        return None
    if not password:
        t.problem("password_file", f"{path} is empty")
    return password
