"""``locker-office serve``: the ingest, the sweeper and the HTTP side in one process.

Start order: the schema is checked (an old one is refused, naming ``migrate``), the
signing key is read (refused if others may read it), the broker link starts and reads
the retained state once, the ingest, the sweeper and (with a signing key) the staff
lists' keeper start (office/staff.py), and the HTTP server runs in
the main thread until SIGTERM or Ctrl-C. Stop order: the HTTP server, the sweeper, the
ingest (its batch in hand committed and acknowledged), then the broker link, which
disconnects normally so the broker keeps the session and what is not acknowledged.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import signal
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn

from kiosk.fleet.messages import Signer
from office import sites
from office.actions import Actions
from office.config import OfficeConfig
from office.ingest.link import BrokerLink, Incoming
from office.ingest.outgoing import CommandSender
from office.ingest.sweeper import Sweeper
from office.ingest.worker import IngestWorker
from office.staff import StaffKeeper
from office.store import migrate
from office.store.engine import make_engine
from office.store.ingest import IngestStore
from office.web import make_app
from office.web.console import Console

log = logging.getLogger("office")
INBOX_MAX = 20_000


class Office:
    """One serve process's parts, wired together."""

    def __init__(self, config: OfficeConfig) -> None:
        self.config = config
        self.engine = make_engine(config.database, pool_size=10)
        migrate.check_current(self.engine)
        with self.engine.begin() as conn:
            sites.assign_all(conn, config.sites)
        signing = config.load_signing_key()
        self.inbox: queue.Queue[Incoming] = queue.Queue(INBOX_MAX)
        self.link = BrokerLink(config.mqtt, self.inbox)
        self.sender = CommandSender(self.engine, self.link, Signer(*signing)) if signing else None
        store = IngestStore(self.engine, config.ingest.occupancy_sample_min * 60)
        self.worker = IngestWorker(store, self.inbox, self.link.ack, config.ingest.batch_max)
        self.sweeper = Sweeper(self.engine, config.ingest, self.sender, config.sites)
        self.console = Console(self.engine, config, Actions(self.sender))
        # staff lists the broker did not take, and lists near the end of their life
        self.staff = StaffKeeper(self.sender) if self.sender else None

    def start(self) -> None:
        self.worker.start()
        self.link.start()
        threading.Thread(target=self._seed, name="office-seed", daemon=True).start()
        self.sweeper.start()
        if self.staff is not None:
            self.staff.start()

    def _seed(self) -> None:
        if self.link.connected.wait(30):
            log.info("read %d retained messages", self.link.seed())

    def stop(self) -> None:
        if self.staff is not None:
            self.staff.stop()
        self.sweeper.stop()
        self.worker.stop()
        self.link.stop()
        self.engine.dispose()

    def status(self) -> dict[str, Any]:
        c = self.worker.counters
        return {
            "ok": self.link.connected.is_set() and c.db_error is None,
            "client_id": self.config.mqtt.client_id,
            "broker": {
                "connected": self.link.connected.is_set(),
                "error": self.link.last_error,
                "acked": self.link.acked,
            },
            "database": {"error": c.db_error, "retries": c.db_retries},
            "ingest": {
                "received": c.received,
                "events": c.events,
                "duplicates": c.duplicates,
                "other": c.other,
                "rejected": c.rejected,
                "batches": c.batches,
                "last_commit_at": c.last_commit_at,
                "waiting": self.inbox.qsize(),
            },
            "gaps": {
                "found": self.sweeper.gaps_found,
                "repaired": self.sweeper.gaps_repaired,
                "resends": self.sweeper.resends,
            },
        }


def uvicorn_config(config: OfficeConfig, app: Any) -> uvicorn.Config:
    """TLS from the config's cert and key; X-Forwarded-For and -Proto believed only from
    the configured proxies (uvicorn would believe 127.0.0.1 by default)."""
    web = config.web
    return uvicorn.Config(
        app,
        host=config.listen_host,
        port=config.listen_port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        ssl_certfile=str(web.tls_cert) if web.tls_cert else None,
        ssl_keyfile=str(web.tls_key) if web.tls_key else None,
        proxy_headers=bool(web.trusted_proxies),
        forwarded_allow_ips=list(web.trusted_proxies) or None,
        server_header=False,
        date_header=False,
    )


class _Server(uvicorn.Server):
    """uvicorn's server without its signal handling: recent uvicorn raises the signal
    again after its own shutdown, which would end the process before the ingest has
    finished its batch. :func:`serve` handles SIGTERM and SIGINT itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def serve(config: OfficeConfig) -> int:
    office = Office(config)
    office.start()
    server = _Server(uvicorn_config(config, make_app(office.status, office.console)))

    def ask_to_stop(_signum: int, _frame: object) -> None:
        server.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, ask_to_stop)
    scheme = "https" if config.web.has_tls else "http"
    log.info("the console on %s://%s:%d/", scheme, config.listen_host, config.listen_port)
    try:
        server.run()
    finally:
        office.stop()
        log.info("stopped")
    return 0 if server.started else 1
