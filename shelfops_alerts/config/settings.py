"""One validated settings object, read from the environment.

Where a value comes from, highest first:

1. the process environment;
2. a ``.env`` file in the current folder, read as python-dotenv reads it;
3. ``.shelfops/stack.env``, written by ``shelfops-alerts dev`` while it runs, so the other
   commands in the same folder find the embedded stack without any setting.

Every variable is documented in the README. A missing or malformed value raises
:class:`ConfigError` naming the variable, at start, before any work is done; an error never
quotes a secret (a URL's password, a key).

Secret settings are :class:`~shelfops_alerts.config.secrets.Secret` values (URLs:
:class:`~shelfops_alerts.config.secrets.SecretURL`): printed, they show ``'**********'``; the code
that needs one calls ``.reveal()``. Once loaded, they are masked in every log line too.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from shelfops_alerts import logs
from shelfops_alerts.config.bounds import check_bounds
from shelfops_alerts.config.environment import gather_environment
from shelfops_alerts.config.readers import (
    ConfigError,
    non_negative_float,
    positive_float,
    positive_int,
    secret,
    secret_url,
)
from shelfops_alerts.config.secrets import Secret, SecretURL, mask_urls

#: E-mail templates shipped inside the package (``notify/email/templates/``).
DEFAULT_TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "notify" / "email" / "templates"

EMAIL_BACKENDS = ("file", "console", "sendgrid")
#: How every process writes its log lines: ``text`` for people, ``json`` (one object per line)
#: for log shippers.
LOG_FORMATS = ("text", "json")
#: The longest countdown handed to the broker, as a share of the visibility timeout: a
#: longer wait is kept in the row (its due time) and brought back by the relay instead.
SAFE_COUNTDOWN_FRACTION = 0.5


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment, validated.

    Fields typed :class:`Secret` (or :class:`SecretURL`) print masked; a plain ``str``
    given for one (a test's ``Settings(database_url="postgresql://…")``) is wrapped.
    """

    database_url: SecretURL
    redis_url: SecretURL
    email_backend: str = "file"
    sendgrid_api_key: Secret = Secret()
    sendgrid_host: str = "https://api.sendgrid.com"
    email_from: str = "alerts@shelfops.example"
    outbox_dir: Path = Path(".shelfops/outbox")
    templates_dir: Path = DEFAULT_TEMPLATES_DIR
    #: SKUs per batch check. Larger batches spread Celery's per-message cost (three tasks per
    #: batch) over more SKUs: at 100k SKUs, 5000 costs the workers 30 % less CPU than 2000
    #: (bench/sweep.py; see the README's Performance section), at ~100 MB per worker.
    batch_size: int = 5000
    #: Most SKUs one check may hold: a bigger batch message is split before anything is read
    #: (a check needs about 7 MB per 1,000 SKUs at worst; 10,000 keep a child under ~200 MB).
    max_batch_size: int = 10_000
    sweep_interval_s: float = 900.0
    sweep_lock_ttl_s: float = 600.0
    email_rate: float = 10.0
    email_max_retries: int = 8
    email_retry_backoff_s: float = 30.0
    email_timeout_s: float = 10.0
    #: A delivery (or digest) older than this is failed instead of retried again.
    email_max_age_s: float = 86400.0
    #: Longest wait before a retry: caps the backoff and a provider's 429 reset time.
    email_max_pause_s: float = 900.0
    #: Quiet-period window for digests (seconds); 0 sends every alert change on its own.
    digest_window_s: float = 60.0
    #: Most alert changes one digest lists; the next change opens a new digest.
    digest_max_changes: int = 200
    visibility_timeout_s: int = 3600
    outbox_relay_after_s: float = 60.0
    #: A worker child whose resident memory passed this (MB) is replaced after its task.
    worker_max_memory_mb: int = 300
    #: Starts without finish (the worker died each time) before a message is a dead letter.
    max_redeliveries: int = 3
    #: A queued batch whose chain has not finished after this long, and none of whose
    #: messages is queued or unacknowledged, was lost by the broker: the relay queues it again.
    batch_lost_after_s: float = 300.0
    #: Times the relay queues one lost batch again before it leaves it to the next sweep.
    batch_requeue_limit: int = 3
    dashboard_url: str = "http://localhost:8000/alerts"
    #: Entries each customer's Redis Stream of alert changes keeps (approximately; the oldest
    #: go first): how far back a reconnecting dashboard can resume with ``since``.
    stream_maxlen: int = 10000
    #: Seconds between heartbeats on an idle WebSocket stream.
    stream_heartbeat_s: float = 15.0
    #: Messages queued for one WebSocket client before it counts as too slow and is cut off.
    stream_client_buffer: int = 1000
    #: Lifetime of a dashboard session (seconds from login).
    session_ttl_s: float = 43200.0
    #: Lifetime of a one-time login link from ``dashboard-url``.
    login_link_ttl_s: float = 600.0
    #: Consecutive clean checks before an alert resolves itself (hysteresis against flapping).
    resolve_after_checks: int = 2
    #: A resolved alert that fires again within this many seconds is re-opened, not re-created.
    reopen_within_s: float = 86400.0
    #: ``text`` or ``json`` (one JSON object per line), for workers, beat and the CLI.
    log_format: str = "text"
    #: Workers' PostgreSQL ``statement_timeout``; a worker also gives up on a server that does
    #: not answer within this plus at most 5 s (see ``outages/postgres.py``).
    db_statement_timeout_s: float = 30.0
    #: Workers' PostgreSQL ``lock_timeout``: a statement waiting this long for a row lock fails
    #: (and is retried) instead of queueing behind a stuck transaction.
    db_lock_timeout_s: float = 10.0
    #: Socket and connect timeout of every Redis client of the workers and of the broker.
    redis_timeout_s: float = 10.0
    #: Retries of a transient database or Redis fault by the alerts tasks, the first after
    #: ``fault_retry_backoff_s``, doubling, each wait at most ``fault_retry_cap_s``.
    fault_max_retries: int = 10
    fault_retry_backoff_s: float = 1.0
    fault_retry_cap_s: float = 60.0
    #: Days kept by ``shelfops.prune`` (README "Retention"): resolved alerts, alert history,
    #: silences, sweeps and dealt-with dead letters; sent or failed e-mails; past forecasts;
    #: sales and past arrivals.
    retain_history_days: int = 90
    retain_deliveries_days: int = 30
    retain_forecast_days: int = 90
    retain_sales_days: int = 90
    extra: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name, kind in _secret_fields().items():
            value = getattr(self, name)
            if type(value) is not kind:
                object.__setattr__(self, name, kind(value))

    def secrets(self) -> list[Secret]:
        """Every secret setting's value (what log lines must never carry)."""
        return [getattr(self, name) for name in _secret_fields()]

    @property
    def max_countdown_s(self) -> float:
        """The longest countdown handed to the broker (a safe share of the visibility
        timeout); a longer wait stays in the database until the relay brings it back."""
        return self.visibility_timeout_s * SAFE_COUNTDOWN_FRACTION

    @property
    def web_base_url(self) -> str:
        """Where the web service is reached: the dashboard URL without its ``/alerts``."""
        base = self.dashboard_url.rstrip("/")
        return base[: -len("/alerts")] if base.endswith("/alerts") else base

    @property
    def sqlalchemy_url(self) -> SecretURL:
        """The database URL with the psycopg2 driver named, as SQLAlchemy wants it."""
        url = self.database_url.reveal()
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return SecretURL("postgresql+psycopg2://" + url[len(prefix) :])
        return SecretURL(url)


def env_name(field_name: str) -> str:
    """The environment variable of a setting: ``batch_size`` → ``SHELFOPS_BATCH_SIZE``."""
    return f"SHELFOPS_{field_name.upper()}"


#: The numeric settings, each read from :func:`env_name` of its field by its reader (which
#: names the variable when the value is bad); the default is the field's.
NUMBERS: dict[str, Callable[[Mapping[str, str], str, Any], Any]] = {
    "batch_size": positive_int,
    "max_batch_size": positive_int,
    "sweep_interval_s": positive_float,
    "sweep_lock_ttl_s": positive_float,
    "email_rate": positive_float,
    "email_max_retries": positive_int,
    "email_retry_backoff_s": positive_float,
    "email_timeout_s": positive_float,
    "email_max_age_s": positive_float,
    "email_max_pause_s": positive_float,
    "digest_window_s": non_negative_float,
    "digest_max_changes": positive_int,
    "visibility_timeout_s": positive_int,
    "outbox_relay_after_s": positive_float,
    "worker_max_memory_mb": positive_int,
    "max_redeliveries": positive_int,
    "batch_lost_after_s": positive_float,
    "batch_requeue_limit": positive_int,
    "stream_maxlen": positive_int,
    "stream_heartbeat_s": positive_float,
    "stream_client_buffer": positive_int,
    "session_ttl_s": positive_float,
    "login_link_ttl_s": positive_float,
    "resolve_after_checks": positive_int,
    "reopen_within_s": positive_float,
    "db_statement_timeout_s": positive_float,
    "db_lock_timeout_s": positive_float,
    "redis_timeout_s": positive_float,
    "fault_max_retries": positive_int,
    "fault_retry_backoff_s": positive_float,
    "fault_retry_cap_s": positive_float,
    "retain_history_days": positive_int,
    "retain_deliveries_days": positive_int,
    "retain_forecast_days": positive_int,
    "retain_sales_days": positive_int,
}


@functools.cache
def _secret_fields() -> dict[str, type[Secret]]:
    """Settings fields typed Secret (or a kind of it) → that type."""
    hints = typing.get_type_hints(Settings)
    return {
        name: hint
        for name, hint in hints.items()
        if isinstance(hint, type) and issubclass(hint, Secret)
    }


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise :class:`ConfigError` naming the first bad one."""
    env = gather_environment(environ)
    hint = "Set it, or run `shelfops-alerts dev` in this folder to start the embedded stack."
    database_url = secret_url(
        env, "SHELFOPS_DATABASE_URL", ("postgresql", "postgres", "postgresql+psycopg2"), hint
    )
    redis_url = secret_url(env, "SHELFOPS_REDIS_URL", ("redis", "rediss", "unix"), hint)

    backend = env.get("SHELFOPS_EMAIL_BACKEND", "file").strip() or "file"
    if backend not in EMAIL_BACKENDS:
        raise ConfigError(
            f"SHELFOPS_EMAIL_BACKEND must be one of {', '.join(EMAIL_BACKENDS)}, got {backend!r}"
        )
    api_key = secret(env, "SENDGRID_API_KEY")
    if backend == "sendgrid" and not api_key:
        raise ConfigError("SENDGRID_API_KEY is not set, and SHELFOPS_EMAIL_BACKEND is sendgrid")
    sendgrid_host = env.get("SHELFOPS_SENDGRID_HOST", "").strip() or Settings.sendgrid_host
    if urlparse(sendgrid_host).scheme not in ("http", "https"):
        raise ConfigError(
            f"SHELFOPS_SENDGRID_HOST must be an http(s) URL, got {mask_urls(sendgrid_host)!r}"
        )
    email_from = env.get("SHELFOPS_EMAIL_FROM", "").strip() or Settings.email_from
    if "@" not in email_from or any(c in email_from for c in "\r\n"):
        raise ConfigError(f"SHELFOPS_EMAIL_FROM must be an e-mail address, got {email_from!r}")

    log_format = env.get("SHELFOPS_LOG_FORMAT", "").strip().lower() or Settings.log_format
    if log_format not in LOG_FORMATS:
        raise ConfigError(
            f"SHELFOPS_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}"
        )

    templates_dir = Path(env.get("SHELFOPS_TEMPLATES_DIR", "").strip() or DEFAULT_TEMPLATES_DIR)
    if not (templates_dir / "alert_email.txt").is_file():
        raise ConfigError(
            f"SHELFOPS_TEMPLATES_DIR must be a folder holding alert_email.txt, got {templates_dir}"
        )

    settings = Settings(
        database_url=database_url,
        redis_url=redis_url,
        email_backend=backend,
        sendgrid_api_key=api_key,
        sendgrid_host=sendgrid_host.rstrip("/"),
        email_from=email_from,
        outbox_dir=Path(env.get("SHELFOPS_OUTBOX_DIR", "").strip() or Settings.outbox_dir),
        templates_dir=templates_dir,
        dashboard_url=_dashboard_url(env),
        log_format=log_format,
        **{
            name: read(env, env_name(name), getattr(Settings, name))
            for name, read in NUMBERS.items()
        },
    )
    if settings.batch_size > settings.max_batch_size:
        raise ConfigError(
            f"SHELFOPS_BATCH_SIZE ({settings.batch_size}) must not exceed"
            f" SHELFOPS_MAX_BATCH_SIZE ({settings.max_batch_size})"
        )
    if settings.email_timeout_s >= settings.outbox_relay_after_s:
        # Otherwise the relay would take a slow but live send for a dead one and send it again.
        raise ConfigError(
            f"SHELFOPS_EMAIL_TIMEOUT_S ({settings.email_timeout_s:g}) must be below"
            f" SHELFOPS_OUTBOX_RELAY_AFTER_S ({settings.outbox_relay_after_s:g})"
        )
    longest = settings.max_countdown_s
    if settings.email_max_pause_s > longest:
        # A countdown longer than the visibility timeout is redelivered before it is due (and
        # the task runs twice); a margin keeps a busy worker's late start from doing the same.
        raise ConfigError(
            f"SHELFOPS_EMAIL_MAX_PAUSE_S ({settings.email_max_pause_s:g}) must be at most"
            f" {SAFE_COUNTDOWN_FRACTION:g} x SHELFOPS_VISIBILITY_TIMEOUT_S"
            f" ({settings.visibility_timeout_s}), i.e. {longest:g}"
        )
    check_bounds(settings)
    for value in settings.secrets():
        logs.register_secret(value)
    return settings


def _dashboard_url(env: Mapping[str, str]) -> str:
    raw = env.get("SHELFOPS_DASHBOARD_URL", "").strip() or Settings.dashboard_url
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"SHELFOPS_DASHBOARD_URL must be an http(s) URL, got {raw!r}")
    return raw.rstrip("/")
