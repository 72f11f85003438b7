"""``locker-office``'s config: one TOML file, every problem reported at once.

::

    [database]
    url = "postgresql+psycopg://locker-office@/office?host=/run/postgresql"
    # password_file = "/etc/locker-office/db.password"

    [mqtt]
    broker = "broker.example.net:8883"
    username = "office"
    password_file = "/etc/locker-office/broker.password"
    ca_file = "/etc/locker-office/broker-ca.pem"
    client_id = "office-1"          # one per serve process, kept across restarts

    [signing]
    key = "/etc/locker-office/ops-2026.key"   # from locker-fleet keygen; mode 0600
    kid = "ops-2026"

    [ingest]
    kiosk_offline_alarm_min = 10

    [web]
    listen = "127.0.0.1:8080"
    # tls_cert = "/etc/locker-office/console.crt"   # TLS of its own, or:
    # trusted_proxy = ["127.0.0.1"]                  # a TLS reverse proxy in front

    [sites]
    berlin-mitte = ["BER-*", "KIOSK-7"]     # kiosk ids or patterns (* and ?)

docs/office.md lists every key with its default; config/office-example.toml is the
full example. Relative paths (and a relative SQLite file) are taken from the file's
directory.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from kiosk.fleet.envelope import KeyringError, load_private
from kiosk.fleet.net import is_loopback
from office.checks import OfficeConfigError, Problems, Table, read_toml

ENV_VAR = "LOCKER_OFFICE_CONFIG"
DEFAULT_PATH = Path("/etc/locker-office/office.toml")
CLIENT_ID_RULE = r"[A-Za-z0-9_.-]{1,64}"
DRIVERS = ("sqlite", "postgresql+psycopg")


@dataclass(frozen=True)
class MqttSection:
    host: str
    port: int
    username: str = "office"
    password: str | None = None
    ca_file: Path | None = None
    tls: bool = True
    client_id: str = "office-1"
    share_group: str = "office"
    session_expiry_s: int = 7 * 24 * 3600
    keepalive_s: int = 30
    receive_maximum: int = 1000


@dataclass(frozen=True)
class IngestSection:
    batch_max: int = 1000
    gap_grace_s: float = 10.0
    resend_retry_s: float = 60.0
    kiosk_offline_alarm_min: float = 10.0
    occupancy_sample_min: float = 15.0
    sweep_s: float = 2.0


@dataclass(frozen=True)
class WebSection:
    """The console's HTTP side (docs/office.md, "The console's security")."""

    tls_cert: Path | None = None
    tls_key: Path | None = None
    trusted_proxies: tuple[str, ...] = ()
    """Addresses whose X-Forwarded-For and X-Forwarded-Proto are believed."""
    public_origin: str | None = None
    """``https://office.example.net``: the origin a form must come from; by default the
    request's own scheme and host."""
    session_idle_min: float = 30.0
    session_max_hours: float = 12.0

    @property
    def has_tls(self) -> bool:
        return self.tls_cert is not None


@dataclass(frozen=True)
class OfficeConfig:
    source: Path
    database: URL
    mqtt: MqttSection
    signing_key: Path | None = None
    kid: str | None = None
    ingest: IngestSection = field(default_factory=IngestSection)
    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    web: WebSection = field(default_factory=WebSection)
    sites: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Which kiosks belong to which site: kiosk ids or patterns with ``*`` and ``?``."""

    @property
    def is_sqlite(self) -> bool:
        return self.database.get_backend_name() == "sqlite"

    def load_signing_key(self) -> tuple[Ed25519PrivateKey, str] | None:
        """The key that signs commands and its id; ``None`` when none is configured."""
        if self.signing_key is None or self.kid is None:
            return None
        problems = Problems(str(self.source))
        try:
            mode = self.signing_key.stat().st_mode
            key = load_private(self.signing_key)
        except (OSError, KeyringError) as exc:
            problems.add("signing.key", str(exc))
            raise OfficeConfigError(problems.messages) from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            problems.add(
                "signing.key",
                f"{self.signing_key} may be read by others; make it "
                f"private (chmod 600 {self.signing_key})",
            )
            raise OfficeConfigError(problems.messages)
        return key, self.kid


def config_path(given: str | None) -> Path:
    """``--config``, else ``$LOCKER_OFFICE_CONFIG``, else /etc/locker-office/office.toml."""
    return Path(given or os.environ.get(ENV_VAR) or DEFAULT_PATH).expanduser()


def load_office_config(path: Path) -> OfficeConfig:
    """The checked config at ``path``; :class:`OfficeConfigError` lists every problem."""
    problems = Problems(str(path))
    raw = read_toml(path, problems)
    if raw is None:
        raise OfficeConfigError(problems.messages)
    top = Table(raw, "", problems)
    base = path.absolute().parent
    database = _database(top.table("database"), base)
    mqtt = _mqtt(top.table("mqtt"), base)
    signing = top.table("signing")
    key = _path(signing, "key", base)
    kid = signing.get_str("kid", "", pattern=r"[A-Za-z0-9_.-]{1,64}", rule="a key id like ops-2026")
    if (key is None) != (not kid):
        signing.problem("kid" if key else "key", "give both key and kid, or neither")
    if key is not None and not key.is_file():
        signing.problem("key", f"{key}: no such file (make one with locker-fleet keygen)")
    ingest = _ingest(top.table("ingest"))
    host, port, web = _web(top.table("web"), base)
    sites = _sites(top.table("sites"))
    for table in (top, signing):
        table.check_unknown()
    problems.raise_if_any()
    return OfficeConfig(path, database, mqtt, key, kid or None, ingest, host, port, web, sites)


def _database(t: Table, base: Path) -> URL:
    text = t.get_str("url", "sqlite:///office.db")
    password = _secret(t, "password_file", base)
    t.check_unknown()
    try:
        url = make_url(text)
    except ArgumentError:
        t.problem(
            "url",
            f"not a database URL: {text!r} (sqlite:///FILE or postgresql+psycopg://USER@HOST/NAME)",
        )
        return make_url("sqlite://")
    if url.drivername not in DRIVERS:
        t.problem("url", f"the driver must be one of {', '.join(DRIVERS)}, got {url.drivername!r}")
    if url.password is not None:
        t.problem("url", "holds a password: put it in password_file instead")
    if url.drivername == "sqlite" and url.database and url.database != ":memory:":
        url = url.set(database=str(base / Path(url.database).expanduser()))
    return url.set(password=password) if password else url


def _mqtt(t: Table, base: Path) -> MqttSection:
    text = t.get_str("broker")
    tls = t.get_bool("tls", True)
    host, sep, port_text = text.rpartition(":")
    host = host.strip("[]")
    if text and (not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536):
        t.problem("broker", f"must be HOST:PORT, e.g. broker.example.net:8883, got {text!r}")
        host, port_text = "", "0"
    if host and not tls and not is_loopback(host):
        t.problem("tls", f"false is accepted only for a broker on loopback, not {host!r}")
    ca_file = _path(t, "ca_file", base)
    if ca_file is not None and not ca_file.is_file():
        t.problem("ca_file", f"{ca_file}: no such file")
    section = MqttSection(
        host=host,
        port=int(port_text or 0),
        username=t.get_str("username", "office"),
        password=_secret(t, "password_file", base),
        ca_file=ca_file,
        tls=tls,
        client_id=t.get_str(
            "client_id",
            "office-1",
            CLIENT_ID_RULE,
            "1-64 characters of A-Z, a-z, 0-9, '_', '.' and '-'",
        ),
        share_group=t.get_str(
            "share_group",
            "office",
            r"[A-Za-z0-9_-]{1,32}",
            "1-32 characters of A-Z, a-z, 0-9, '_' and '-'",
        ),
        session_expiry_s=t.get_int("session_expiry_s", 7 * 24 * 3600, 60, 2**32 - 1),
        keepalive_s=t.get_int("keepalive_s", 30, 5, 600),
        receive_maximum=t.get_int("receive_maximum", 1000, 1, 65535),
    )
    t.check_unknown()
    return section


def _ingest(t: Table) -> IngestSection:
    section = IngestSection(
        batch_max=t.get_int("batch_max", 1000, 1, 10_000),
        gap_grace_s=t.get_number("gap_grace_s", 10.0, 0.5, 3600.0),
        resend_retry_s=t.get_number("resend_retry_s", 60.0, 1.0, 86_400.0),
        kiosk_offline_alarm_min=t.get_number("kiosk_offline_alarm_min", 10.0, 0.1, 10_080.0),
        occupancy_sample_min=t.get_number("occupancy_sample_min", 15.0, 1.0, 1440.0),
        sweep_s=t.get_number("sweep_s", 2.0, 0.1, 60.0),
    )
    t.check_unknown()
    return section


def _web(t: Table, base: Path) -> tuple[str, int, WebSection]:
    host, port = _listen(t)
    cert, key = _path(t, "tls_cert", base), _path(t, "tls_key", base)
    if (cert is None) != (key is None):
        t.problem("tls_cert" if key else "tls_key", "give both tls_cert and tls_key, or neither")
    for name, found in (("tls_cert", cert), ("tls_key", key)):
        if found is not None and not found.is_file():
            t.problem(name, f"{found}: no such file")
    if key is not None and key.is_file() and key.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        t.problem("tls_key", f"{key} may be read by others; make it private (chmod 600 {key})")
    proxies = _proxies(t)
    origin = t.get_str(
        "public_origin",
        "",
        r"https?://[A-Za-z0-9.:\[\]-]+",
        "an origin like https://office.example.net",
    )
    web = WebSection(
        tls_cert=cert,
        tls_key=key,
        trusted_proxies=proxies,
        public_origin=origin or None,
        session_idle_min=t.get_number("session_idle_min", 30.0, 1.0, 24 * 60.0),
        session_max_hours=t.get_number("session_max_hours", 12.0, 0.1, 24 * 30.0),
    )
    t.check_unknown()
    if web.tls_cert is None and not proxies and not is_loopback(host):
        t.problem(
            "listen",
            f"{host} faces a network: give tls_cert and tls_key, or put a TLS reverse proxy "
            "in front and name it in trusted_proxy",
        )
    return host, port, web


def _proxies(t: Table) -> tuple[str, ...]:
    found, value = t._raw("trusted_proxy", False)
    if not found:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        t.problem("trusted_proxy", 'must be a list of addresses, e.g. ["127.0.0.1"]')
        return ()
    for address in value:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            t.problem("trusted_proxy", f"{address!r} is not an IP address")
            return ()
    return tuple(value)


def _sites(t: Table) -> dict[str, tuple[str, ...]]:
    sites: dict[str, tuple[str, ...]] = {}
    for name, value in t.data.items():
        t.asked.add(name)
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
            t.problem(name, "a site's name is 1-64 characters of A-Z, a-z, 0-9, '_', '.', '-'")
            continue
        if (
            not isinstance(value, list)
            or not value
            or not all(
                isinstance(v, str) and re.fullmatch(r"[A-Za-z0-9_*?-]{1,64}", v) for v in value
            )
        ):
            t.problem(name, "must be a list of kiosk ids or patterns with * and ?")
            continue
        sites[name] = tuple(value)
    return sites


def _listen(t: Table) -> tuple[str, int]:
    text = t.get_str("listen", "127.0.0.1:8080")
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        t.problem("listen", f"must be HOST:PORT like 127.0.0.1:8080, got {text!r}")
        return "127.0.0.1", 8080
    return host.strip("[]"), int(port)


def _path(t: Table, name: str, base: Path) -> Path | None:
    text = t.get_str(name, "")
    return base / Path(text).expanduser() if text else None


def _secret(t: Table, name: str, base: Path) -> str | None:
    """The first line of a private file named by ``name``."""
    path = _path(t, name, base)
    if path is None:
        return None
    try:
        mode = path.stat().st_mode
        secret = path.read_text().strip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        t.problem(name, f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}")
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        t.problem(name, f"{path} may be read by others; make it private (chmod 600 {path})")
    if not secret:
        t.problem(name, f"{path} is empty")
    return secret or None
