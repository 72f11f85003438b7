"""The fleet tests' fixtures; what they share with the benchmarks and tools is
:mod:`testkit.fleet`."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.fleet.envelope import new_key
from testkit.fleet import write_keyring


@pytest.fixture
def operator_key(tmp_path: Path) -> tuple[Ed25519PrivateKey, Path]:
    key, public = new_key()
    return key, write_keyring(tmp_path, public)
