"""``locker-office users``: no default account, argon2id, every change audited."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from office.passwords import verify
from office.store.engine import make_engine


def office(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "office", "--config", str(config), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def migrated(tmp_path: Path) -> Path:
    config = tmp_path / "office.toml"
    config.write_text('[mqtt]\nbroker = "127.0.0.1:1883"\ntls = false\n')
    assert office(config, "migrate").returncode == 0
    return config


def test_a_fresh_office_has_no_account_until_the_first_admin_is_added(tmp_path: Path) -> None:
    config = migrated(tmp_path)
    assert office(config, "users", "list").stdout.splitlines()[1:] == []
    added = office(
        config,
        "users",
        "add",
        "alice",
        "--role",
        "admin",
        "--password-stdin",
        stdin="correct horse battery\n",
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "alice: added"
    listed = office(config, "users", "list").stdout.splitlines()[1]
    assert listed.split() == ["alice", "admin", "all", "never", "active"]
    engine = make_engine(f"sqlite:///{tmp_path / 'office.db'}")
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT password_hash FROM console_users")).scalar_one()
        audit = conn.execute(sa.text("SELECT actor, action, target FROM console_audit")).all()
    assert stored.startswith("$argon2id$")
    assert "correct horse battery" not in stored
    assert verify(stored, "correct horse battery")
    assert [(a.split(":")[0], action, target) for a, action, target in audit] == [
        ("cli", "user_added", "alice")
    ]


def test_a_short_password_a_duplicate_and_an_unknown_user_are_refused(tmp_path: Path) -> None:
    config = migrated(tmp_path)
    short = office(
        config, "users", "add", "bob", "--role", "viewer", "--password-stdin", stdin="short\n"
    )
    assert short.returncode == 1
    assert "a password needs at least 12 characters" in short.stderr
    ok = office(
        config,
        "users",
        "add",
        "bob",
        "--role",
        "viewer",
        "--site",
        "Berlin",
        "--password-stdin",
        stdin="a long enough one\n",
    )
    assert ok.returncode == 0
    again = office(
        config,
        "users",
        "add",
        "bob",
        "--role",
        "admin",
        "--password-stdin",
        stdin="another long one\n",
    )
    assert again.returncode == 1 and "there is already an account 'bob'" in again.stderr
    missing = office(config, "users", "disable", "carol")
    assert missing.returncode == 1 and "there is no active account 'carol'" in missing.stderr
    assert (
        office(config, "users", "disable", "bob").stdout.strip() == "bob: disabled and signed out"
    )
    row = office(config, "users", "list").stdout.splitlines()[1].split()
    assert row == ["bob", "viewer", "Berlin", "never", "disabled"]
