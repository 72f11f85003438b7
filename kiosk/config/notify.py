"""The ``[notify]`` section: how notifications leave the outbox, and each back end's own
options as a table of its own (``[notify.webhook]``, ``[notify.smtp]``, ``[notify.file]``).

:data:`BackendName` is the one list of back ends; :mod:`kiosk.notify`'s registry maps
each name to the class that takes the options model of the same name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal, get_args
from urllib.parse import urlsplit

from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema

from kiosk.config.check import Problems, number
from kiosk.config.schema import SECTION, Bool, Float, Int, Str

BackendName = Literal["log", "webhook", "smtp", "file"]
"""Every notification back end there is."""
BACKEND_NAMES: tuple[str, ...] = get_args(BackendName)


@dataclass(frozen=True)
class LogOptions:
    """The ``log`` back end has no options: a notification is a line in the daemon's log."""

    __pydantic_config__ = SECTION


@dataclass(frozen=True)
class WebhookOptions:
    """Used when backend = "webhook"."""

    __pydantic_config__ = SECTION

    url: Annotated[Str, Field(description="required then: an http:// or https:// URL")] = ""
    secret: Annotated[
        Str, Field(description="required then: key for the HMAC signature header")
    ] = ""


@dataclass(frozen=True)
class SmtpOptions:
    """Used when backend = "smtp"."""

    __pydantic_config__ = ConfigDict(extra="forbid", populate_by_name=True)

    host: Annotated[Str, Field(description="required then")] = ""
    port: Annotated[Int, Field(ge=1, le=65535, description="the relay's port")] = 25
    sender: Annotated[Str, Field(alias="from", description="required then: sender address")] = ""
    starttls: Annotated[Bool, Field(description="true: STARTTLS before the login")] = False
    username: Annotated[Str, Field(description="leave empty for no login")] = ""
    password: Annotated[Str, Field(description="the login's password")] = ""


def _inbox(value: object) -> object:
    if value == "":
        return None
    return Path(value) if isinstance(value, str) else value


Inbox = Annotated[Path | None, BeforeValidator(_inbox), WithJsonSchema({"type": "string"})]


@dataclass(frozen=True)
class FileOptions:
    """Used when backend = "file" (the demo and tests only: it writes pickup codes in
    plain text)."""

    __pydantic_config__ = SECTION

    # not taken relative to the config's directory: a relative inbox is in the data dir
    path: Annotated[
        Inbox,
        Field(description="required then: a simulated recipients' inbox, relative to the data dir"),
    ] = None


@dataclass(frozen=True)
class NotifySection:
    """How notifications (pickup codes, reminders) reach recipients: written to the outbox
    with the change that causes them, then delivered with retries."""

    __pydantic_config__ = SECTION

    backend: Annotated[
        BackendName,
        Field(
            description="log | webhook | smtp | file (the demo and tests only: refused unless "
            "demo = true)"
        ),
    ] = "log"
    retry_initial_s: Annotated[
        Float, Field(gt=0, description="first retry delay for a failed delivery; doubles each time")
    ] = 5.0
    retry_max_s: Annotated[Float, Field(gt=0, description="longest retry delay")] = 3600.0
    max_attempts: Annotated[
        Int, Field(ge=1, description="then the notification is given up and logged as failed")
    ] = 20
    outbox_keep_days: Annotated[
        Float,
        Field(
            ge=0, le=3650, description="delivered and given-up notifications are deleted after this"
        ),
    ] = 30.0
    webhook: WebhookOptions = field(default_factory=WebhookOptions)
    smtp: SmtpOptions = field(default_factory=SmtpOptions)
    file: FileOptions = field(default_factory=FileOptions)


def check_notify(section: NotifySection, demo: bool, problems: Problems) -> None:
    """What ``[notify]`` must agree on: the chosen back end's options, and ``file`` for
    the demo only."""
    if section.backend == "file" and not demo:
        problems.add(
            "notify.backend",
            "'file' writes pickup codes in plain text: it is for the demo and tests only "
            "(demo = true at the top of the file); a kiosk with customers uses 'webhook' or "
            "'smtp'",
        )
    if section.retry_max_s < section.retry_initial_s:
        message = f"must be at least retry_initial_s ({number(section.retry_initial_s)})"
        problems.add("notify.retry_max_s", message)
    if section.backend == "file" and section.file.path is None:
        problems.add("notify.file.path", "is required when backend = 'file'")
    if section.backend == "webhook":
        url = urlsplit(section.webhook.url)
        if url.scheme not in ("http", "https") or not url.netloc:
            message = "must be an http:// or https:// URL when backend = 'webhook'"
            problems.add("notify.webhook.url", message)
        if not section.webhook.secret:
            problems.add("notify.webhook.secret", "is required when backend = 'webhook'")
    if section.backend == "smtp":
        if not section.smtp.host:
            problems.add("notify.smtp.host", "is required when backend = 'smtp'")
        if not section.smtp.sender:
            problems.add("notify.smtp.from", "is required when backend = 'smtp'")
