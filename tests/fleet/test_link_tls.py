"""The link over TLS, both ways a kiosk proves who it is: a password, or a certificate.

A throwaway CA signs the broker's certificate (for 127.0.0.1) and a kiosk's client
certificate (CN = the kiosk id); Mosquitto listens with TLS only.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from testkit.broker import running_broker
from testkit.fleet import USERS, linked_kiosk

KIOSK = "KIOSK-1"


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pki")
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=test fleet CA",
        "-keyout",
        str(d / "ca.key"),
        "-out",
        str(d / "ca.pem"),
    )
    for name, subject, ext in (
        ("broker", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1"),
        ("kiosk", f"/CN={KIOSK}", "extendedKeyUsage=clientAuth"),
    ):
        openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            subject,
            "-keyout",
            str(d / f"{name}.key"),
            "-out",
            str(d / f"{name}.csr"),
        )
        (d / f"{name}.ext").write_text(ext + "\n")
        openssl(
            "x509",
            "-req",
            "-in",
            str(d / f"{name}.csr"),
            "-CA",
            str(d / "ca.pem"),
            "-CAkey",
            str(d / "ca.key"),
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            str(d / f"{name}.ext"),
            "-out",
            str(d / f"{name}.pem"),
        )
    for key in d.glob("*.key"):
        key.chmod(0o644)  # mosquitto runs as this user, but reads as itself
    return {p.stem + p.suffix.replace(".", "_"): p for p in d.iterdir()}  # fmt: skip


def tls_listener(pki: dict[str, Path], client_certs: bool) -> str:
    text = (f"cafile {pki['ca_pem']}\ncertfile {pki['broker_pem']}\n"
            f"keyfile {pki['broker_key']}\n")  # fmt: skip
    if client_certs:
        text += "require_certificate true\nuse_identity_as_username true\n"
    return text


def connected(daemon: Any) -> bool:
    return bool(daemon.client().get("/v1/status")["fleet"]["state"] == "connected")


def test_a_kiosk_links_over_tls_with_its_password(
    pki: dict[str, Path], operator_key: Any, tmp_path: Path
) -> None:
    _key, keyring = operator_key
    with running_broker(tmp_path / "b", USERS, extra_conf=tls_listener(pki, False)) as broker, \
            linked_kiosk(broker, KIOSK, keyring, tmp_path, tls=True,
                         ca_file=str(pki["ca_pem"])) as daemon:  # fmt: skip
        daemon.wait_for(lambda: connected(daemon), what="a TLS link")


def test_a_kiosk_links_over_tls_with_its_client_certificate(
    pki: dict[str, Path], operator_key: Any, tmp_path: Path
) -> None:
    _key, keyring = operator_key
    with running_broker(tmp_path / "b", USERS, extra_conf=tls_listener(pki, True)) as broker, \
            linked_kiosk(broker, KIOSK, keyring, tmp_path, tls=True, password_file="",
                         ca_file=str(pki["ca_pem"]), cert_file=str(pki["kiosk_pem"]),
                         key_file=str(pki["kiosk_key"])) as daemon:  # fmt: skip
        daemon.wait_for(lambda: connected(daemon), what="a link by certificate")


def test_a_broker_with_a_certificate_the_kiosk_does_not_trust_is_refused(
    pki: dict[str, Path], operator_key: Any, tmp_path: Path
) -> None:
    _key, keyring = operator_key
    with running_broker(tmp_path / "b", USERS, extra_conf=tls_listener(pki, False)) as broker, \
            linked_kiosk(broker, KIOSK, keyring, tmp_path, tls=True) as daemon:  # fmt: skip
        # No ca_file: the system's CAs, which did not sign this broker's certificate.
        status = daemon.wait_for(
            lambda: (s := daemon.client().get("/v1/status")["fleet"])["state"] == "down" and s,
            what="the link refusing the broker",
        )
        assert "CERTIFICATE_VERIFY_FAILED" in status["last_error"]
