"""Notification back ends against real local servers: an HTTP endpoint and a fake SMTP relay."""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import hmac
import json
import logging
import random
import socket
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kiosk.config import load_config
from kiosk.config.notify import BACKEND_NAMES
from kiosk.errors import InvalidInput
from kiosk.notify import (
    DeliveryError,
    Notification,
    backend_class,
    backoff_delay,
    build_backend,
    mask_recipient,
    render_text,
)
from kiosk.notify.backends.log import LogBackend
from kiosk.notify.backends.smtp import SmtpBackend
from kiosk.notify.backends.webhook import WebhookBackend
from kiosk.notify.dispatcher import backend_from_config
from tests.unit.config_files import write_config

CODE = "73914268"
SECRET = "webhook-secret"


def stored(channel: str = "email", recipient: str = "anna@example.org") -> Notification:
    return Notification(
        key="parcel-42-stored",
        kind="parcel_stored",
        channel=channel,
        recipient=recipient,
        payload={
            "kiosk_name": "Bahnhof Süd",
            "compartment": "B03",
            "code": CODE,
            "expires_at": "2026-05-12T14:00:00+00:00",
        },
    )


def free_port() -> int:
    """A port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- a webhook endpoint -----------------------------------------------------------------------


@dataclass
class Endpoint:
    url: str
    status: int = 200
    headers_out: dict[str, str] = field(default_factory=dict)
    delay: threading.Event | None = None
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    state = Endpoint(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((dict(self.headers), body))
            if state.delay is not None:
                state.delay.wait(5)
            self.send_response(state.status)
            for name, value in state.headers_out.items():
                self.send_header(name, value)
            echo = body  # a careless gateway echoing the request, pickup code included
            self.send_header("Content-Length", str(len(echo)))
            self.end_headers()
            self.wfile.write(echo)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/notify"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    if state.delay is not None:
        state.delay.set()
    server.shutdown()
    server.server_close()


def send_by_webhook(url: str, n: Notification, timeout_s: float = 5) -> None:
    asyncio.run(WebhookBackend(url, SECRET, timeout_s=timeout_s).send(n))


def test_webhook_posts_the_notification_as_signed_json(endpoint: Endpoint) -> None:
    send_by_webhook(endpoint.url, stored(channel="sms", recipient="+4917612345667"))

    [(headers, body)] = endpoint.received
    assert json.loads(body) == {
        "key": "parcel-42-stored",
        "kind": "parcel_stored",
        "channel": "sms",
        "recipient": "+4917612345667",
        "payload": stored().payload,
    }
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Locker-Signature"] == f"sha256={expected}"
    assert headers["Idempotency-Key"] == "parcel-42-stored"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Locker-Timestamp"].isdigit()


def test_webhook_retry_carries_the_same_idempotency_key(endpoint: Endpoint) -> None:
    send_by_webhook(endpoint.url, stored())
    send_by_webhook(endpoint.url, stored())

    keys = [headers["Idempotency-Key"] for headers, _ in endpoint.received]
    assert keys == ["parcel-42-stored", "parcel-42-stored"]


def test_webhook_server_error_is_retryable_and_does_not_quote_the_payload(
    endpoint: Endpoint,
) -> None:
    endpoint.status = 500

    with pytest.raises(DeliveryError) as caught:
        send_by_webhook(endpoint.url, stored())

    assert caught.value.retryable
    assert "500" in str(caught.value)
    assert CODE not in str(caught.value)
    assert "anna@example.org" not in str(caught.value)


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_webhook_refusal_is_final(endpoint: Endpoint, status: int) -> None:
    endpoint.status = status

    with pytest.raises(DeliveryError) as caught:
        send_by_webhook(endpoint.url, stored())

    assert not caught.value.retryable
    assert CODE not in str(caught.value)


def test_webhook_too_many_requests_is_retryable_with_the_servers_hint(endpoint: Endpoint) -> None:
    endpoint.status = 429
    endpoint.headers_out["Retry-After"] = "120"

    with pytest.raises(DeliveryError) as caught:
        send_by_webhook(endpoint.url, stored())

    assert caught.value.retryable
    assert caught.value.retry_after == 120


def test_webhook_request_timeout_status_is_retryable(endpoint: Endpoint) -> None:
    endpoint.status = 408

    with pytest.raises(DeliveryError) as caught:
        send_by_webhook(endpoint.url, stored())

    assert caught.value.retryable


def test_webhook_connection_refused_is_retryable() -> None:
    with pytest.raises(DeliveryError) as caught:
        send_by_webhook(f"http://127.0.0.1:{free_port()}/notify", stored())

    assert caught.value.retryable


def test_webhook_that_does_not_answer_in_time_is_retryable(endpoint: Endpoint) -> None:
    endpoint.delay = threading.Event()

    with pytest.raises(DeliveryError) as caught:
        send_by_webhook(endpoint.url, stored(), timeout_s=0.2)

    assert caught.value.retryable
    assert "0.2 s" in str(caught.value)


def test_webhook_refuses_an_empty_secret_and_a_non_http_url() -> None:
    with pytest.raises(InvalidInput):
        WebhookBackend("http://127.0.0.1/notify", "")
    with pytest.raises(InvalidInput):
        WebhookBackend("ftp://example.org/notify", SECRET)


def test_webhook_does_not_show_its_secret_in_repr() -> None:
    assert SECRET not in repr(WebhookBackend("http://127.0.0.1/notify", SECRET))


# --- a fake SMTP relay ------------------------------------------------------------------------


@dataclass
class Relay:
    port: int
    replies: dict[str, str] = field(default_factory=dict)  # verb -> reply replacing 250
    messages: list[bytes] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)


@pytest.fixture
def relay() -> Iterator[Relay]:
    """Speaks just enough RFC 5321; ``replies["RCPT"] = "550 ..."`` makes a verb fail."""
    state = Relay(port=0)

    class Session(socketserver.StreamRequestHandler):
        def reply(self, text: str) -> None:
            self.wfile.write(text.encode() + b"\r\n")

        def handle(self) -> None:
            self.reply("220 fake.relay ESMTP")
            sender, recipients = "", list[str]()
            for raw in self.rfile:
                line = raw.decode().rstrip("\r\n")
                verb = line.split(" ", 1)[0].upper()
                if verb in state.replies:
                    self.reply(state.replies[verb])
                elif verb == "EHLO":
                    self.reply("250-fake.relay\r\n250 8BITMIME")
                elif verb == "HELO":
                    self.reply("250 fake.relay")
                elif verb == "MAIL":
                    sender, recipients = line[10:].strip("<>").split(">")[0], []
                    self.reply("250 2.1.0 OK")
                elif verb == "RCPT":
                    recipients.append(line[8:].strip("<>"))
                    self.reply("250 2.1.5 OK")
                elif verb == "DATA":
                    self.reply("354 go ahead")
                    state.messages.append(self.read_data())
                    state.envelopes.append((sender, recipients))
                    self.reply("250 2.0.0 queued")
                elif verb in ("RSET", "NOOP"):
                    self.reply("250 OK")
                elif verb == "QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("500 5.5.2 unknown command")

        def read_data(self) -> bytes:
            lines = []
            for raw in self.rfile:
                if raw == b".\r\n":
                    break
                lines.append(raw[1:] if raw.startswith(b".") else raw)
            return b"".join(lines)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Session)
    server.daemon_threads = True
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


def smtp(port: int) -> SmtpBackend:
    return SmtpBackend("127.0.0.1", port, "Parcel Locker <noreply@locker.example>", timeout_s=5)


def test_smtp_delivers_the_pickup_code_to_the_recipient(relay: Relay) -> None:
    asyncio.run(smtp(relay.port).send(stored()))

    [raw] = relay.messages
    message = email.message_from_bytes(raw, policy=email.policy.default)
    body = message.get_body().get_content()  # type: ignore[union-attr]
    assert "Pickup code: 7391 4268" in body  # grouped as on the touchscreen
    assert "Bahnhof Süd" in body
    assert "compartment B03" in body
    assert "2026-05-12 14:00 UTC" in body
    assert CODE not in message["Subject"]
    assert message["To"] == "anna@example.org"
    assert relay.envelopes == [("noreply@locker.example", ["anna@example.org"])]


def test_smtp_retry_is_recognisable_by_its_message_id(relay: Relay) -> None:
    asyncio.run(smtp(relay.port).send(stored()))
    asyncio.run(smtp(relay.port).send(stored()))

    ids = [email.message_from_bytes(raw)["Message-ID"] for raw in relay.messages]
    assert ids == ["<notification.parcel-42-stored@locker.example>"] * 2


def test_smtp_temporary_failure_is_retryable(relay: Relay) -> None:
    relay.replies["MAIL"] = "451 4.3.0 try again later"

    with pytest.raises(DeliveryError) as caught:
        asyncio.run(smtp(relay.port).send(stored()))

    assert caught.value.retryable
    assert "451 4.3.0" in str(caught.value)
    assert relay.messages == []


def test_smtp_rejected_recipient_is_final_and_not_named(relay: Relay) -> None:
    relay.replies["RCPT"] = "550 5.1.1 <anna@example.org>: no such user"

    with pytest.raises(DeliveryError) as caught:
        asyncio.run(smtp(relay.port).send(stored()))

    assert not caught.value.retryable
    assert "550 5.1.1" in str(caught.value)
    assert "anna@example.org" not in str(caught.value)


def test_smtp_connection_refused_is_retryable() -> None:
    with pytest.raises(DeliveryError) as caught:
        asyncio.run(smtp(free_port()).send(stored()))

    assert caught.value.retryable


def test_smtp_cannot_send_sms(relay: Relay) -> None:
    with pytest.raises(DeliveryError, match="cannot send SMS") as caught:
        asyncio.run(smtp(relay.port).send(stored(channel="sms", recipient="+4917612345667")))

    assert not caught.value.retryable
    assert relay.messages == []


def test_smtp_refuses_a_recipient_that_would_inject_headers() -> None:
    bad = stored(recipient="anna@example.org\r\nBcc: eve@example.org")

    with pytest.raises(DeliveryError) as caught:
        smtp(25).build_message(bad)

    assert not caught.value.retryable


# --- log back end, texts, masking, backoff, factory -------------------------------------------


def test_log_backend_names_the_message_but_not_the_code(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="kiosk.notify")

    asyncio.run(LogBackend().send(stored(channel="sms", recipient="+4917612345667")))

    assert "notification sent: kind=parcel_stored key=parcel-42-stored to=+49******67" in (
        caplog.text
    )
    assert CODE not in caplog.text
    assert "+4917612345667" not in caplog.text


def test_notification_repr_hides_code_and_recipient() -> None:
    text = repr(stored())

    assert CODE not in text
    assert "anna@example.org" not in text
    assert "a***@example.org" in text


@pytest.mark.parametrize(
    ("recipient", "masked"),
    [
        ("+4917612345667", "+49******67"),
        ("01761234567", "017******67"),
        ("+49123", "***"),
        ("anna@example.org", "a***@example.org"),
        ("a@example.org", "a***@example.org"),
        ("@example.org", "***@example.org"),
    ],
)
def test_masking_keeps_only_the_edges(recipient: str, masked: str) -> None:
    assert mask_recipient(recipient) == masked


def test_reminder_and_expiry_texts_name_the_kiosk_without_a_code() -> None:
    reminder = Notification(
        "r1", "pickup_reminder", "sms", "+4917612345667",
        {"kiosk_name": "Markt", "expires_at": "2026-05-12T14:00:00+02:00"},
    )  # fmt: skip
    expired = Notification("e1", "parcel_expired", "sms", "+4917612345667", {"kiosk_name": "Markt"})

    _subject, body = render_text(reminder)
    assert "Markt" in body
    assert "2026-05-12 14:00 UTC+02:00" in body
    assert "returned to the sender" in render_text(expired)[1]


def test_unknown_kind_gets_a_generic_text_without_payload_values() -> None:
    n = Notification("x1", "parcel_teleported", "email", "a@b.org", {"secret": "s3cr3t-value"})

    subject, body = render_text(n)

    assert "s3cr3t-value" not in subject + body
    assert body


def test_parcel_stored_without_a_code_is_not_sent() -> None:
    n = Notification("s1", "parcel_stored", "email", "a@b.org", {"kiosk_name": "Markt"})

    with pytest.raises(DeliveryError) as caught:
        render_text(n)

    assert not caught.value.retryable


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [(0, 2.0), (1, 2.0), (2, 4.0), (3, 8.0), (5, 32.0), (10, 300.0), (100, 300.0), (10_000, 300.0)],
)
def test_backoff_stays_within_its_ceiling(attempt: int, ceiling: float) -> None:
    rng = random.Random(attempt)

    delays = [backoff_delay(attempt, 2.0, 300.0, rng) for _ in range(200)]

    assert all(0.0 <= d <= ceiling for d in delays)
    assert max(delays) > ceiling / 2  # jitter spreads over the whole range


def test_backoff_grows_with_attempts_until_capped() -> None:
    assert backoff_delay(1, 1.0, 60.0, random.Random(0)) <= 1.0
    assert max(backoff_delay(20, 1.0, 60.0, random.Random(i)) for i in range(50)) <= 60.0
    assert max(backoff_delay(20, 1.0, 60.0, random.Random(i)) for i in range(50)) > 30.0


def test_factory_builds_each_back_end_by_name() -> None:
    assert isinstance(build_backend("log"), LogBackend)
    assert isinstance(
        build_backend("webhook", url="https://x.example/n", secret="s"), WebhookBackend
    )
    assert isinstance(
        build_backend("smtp", host="localhost", port=25, sender="a@b.example"), SmtpBackend
    )


def test_factory_refuses_unknown_names_with_a_suggestion() -> None:
    with pytest.raises(InvalidInput, match="unknown notification back end 'pigeon'"):
        build_backend("pigeon")
    with pytest.raises(InvalidInput, match="did you mean 'secret'"):
        build_backend("webhook", url="https://x.example/n", secrt="s")
    with pytest.raises(InvalidInput, match="missing setting 'secret'"):
        build_backend("webhook", url="https://x.example/n")


NOTIFY_TABLES = {
    "log": "",
    "file": '[notify.file]\npath = "inbox.jsonl"',
    "webhook": '[notify.webhook]\nurl = "https://gateway.example/n"\nsecret = "s3cret"',
    "smtp": '[notify.smtp]\nhost = "relay.example"\nfrom = "Locker <noreply@locker.example>"',
}


@pytest.mark.usefixtures("fake_drivers")
@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_each_back_end_the_config_may_name_is_built_from_its_own_table(
    tmp_path: Path, name: str
) -> None:
    path = write_config(tmp_path, f'[notify]\nbackend = "{name}"\n{NOTIFY_TABLES[name]}')
    path.write_text("demo = true\n" + path.read_text())  # the file back end is the demo's
    config = load_config(path).with_data_dir(tmp_path / "data")

    backend = backend_from_config(config)

    assert type(backend).__module__ == f"kiosk.notify.backends.{name}"
    assert type(backend) is backend_class(name)


@pytest.mark.usefixtures("fake_drivers")
def test_the_demo_inbox_is_written_in_the_data_dir(tmp_path: Path) -> None:
    path = write_config(tmp_path, f'[notify]\nbackend = "file"\n{NOTIFY_TABLES["file"]}')
    path.write_text("demo = true\n" + path.read_text())
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    backend = backend_from_config(load_config(path).with_data_dir(data_dir))

    asyncio.run(backend.send(stored()))

    (line,) = (data_dir / "inbox.jsonl").read_text().splitlines()
    assert json.loads(line)["payload"]["compartment"] == "B03"
