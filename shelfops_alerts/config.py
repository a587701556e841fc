"""One validated settings object, read from the environment.

Where a value comes from, highest first:

1. the process environment;
2. a ``.env`` file in the current folder, read as python-dotenv reads it;
3. ``.shelfops/stack.env``, written by ``shelfops-alerts dev`` while it runs, so the other
   commands in the same folder find the embedded stack without any setting.

Every variable is documented in the README. A missing or malformed value raises
:class:`ConfigError` naming the variable, at start, before any work is done.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from dotenv import dotenv_values
from dotenv.parser import parse_stream

#: Folder (relative to the working directory) where ``dev`` keeps its servers and state.
STACK_DIR = Path(".shelfops")
#: File ``dev`` writes with the URLs of the embedded stack while it runs.
STACK_ENV = STACK_DIR / "stack.env"
#: E-mail templates shipped inside the package (``notify/email/templates/``).
DEFAULT_TEMPLATES_DIR = Path(__file__).resolve().parent / "notify" / "email" / "templates"

EMAIL_BACKENDS = ("file", "console", "sendgrid")
#: How every process writes its log lines: ``text`` for people, ``json`` (one object per line)
#: for log shippers.
LOG_FORMATS = ("text", "json")
#: The longest countdown handed to the broker, as a share of the visibility timeout: a
#: longer wait is kept in the row (its due time) and brought back by the relay instead.
SAFE_COUNTDOWN_FRACTION = 0.5


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def read_env_file(path: Path, *, interpolate: bool = True) -> dict[str, str]:
    """Read a ``.env`` file as python-dotenv does; a missing file is empty.

    ``KEY=value`` lines, ``export`` prefixes, quotes, ``#`` comments (whole-line and after a
    value) and ``${VAR}`` expansion (unless ``interpolate`` is false) all follow
    python-dotenv. A line it cannot parse, or a bare ``KEY`` without ``=``, raises
    :class:`ConfigError` with the file and line number, instead of being skipped with a warning.
    """
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8")
    for binding in parse_stream(io.StringIO(text)):
        if binding.error or (binding.key is not None and binding.value is None):
            line = binding.original.string.strip()
            raise ConfigError(f"{path}:{binding.original.line}: expected KEY=value, got {line!r}")
    values = dotenv_values(stream=io.StringIO(text), interpolate=interpolate)
    return {key: value for key, value in values.items() if value is not None}


def _pid_alive(raw: str) -> bool:
    """Whether the process that wrote stack.env still runs (a stale file is ignored)."""
    try:
        os.kill(int(raw), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def gather_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Merge stack.env < .env < process environment (later wins)."""
    merged: dict[str, str] = {}
    # Written by `dev` with machine values (paths, URLs): taken literally, never expanded.
    stack = read_env_file(STACK_ENV, interpolate=False)
    if _pid_alive(stack.get("SHELFOPS_DEV_PID", "")):
        merged.update(stack)
    merged.update(read_env_file(Path(".env")))
    merged.update(os.environ if environ is None else environ)
    return merged


def _float(env: Mapping[str, str], name: str, default: float, *, allow_zero: bool) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = "0 or more" if allow_zero else "greater than 0"
        raise ConfigError(f"{name} must be {bound}, got {raw!r}")
    return value


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    return _float(env, name, default, allow_zero=False)


def _non_negative_float(env: Mapping[str, str], name: str, default: float) -> float:
    return _float(env, name, default, allow_zero=True)


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than 0, got {raw!r}")
    return value


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...], hint: str) -> str:
    raw = env.get(name, "").strip()
    if not raw:
        raise ConfigError(f"{name} is not set. {hint}")
    scheme = urlparse(raw).scheme
    if scheme not in schemes:
        raise ConfigError(
            f"{name} must be a URL starting with {' or '.join(schemes)}://, got {raw!r}"
        )
    return raw


def _dashboard_url(env: Mapping[str, str]) -> str:
    raw = env.get("SHELFOPS_DASHBOARD_URL", "").strip() or Settings.dashboard_url
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"SHELFOPS_DASHBOARD_URL must be an http(s) URL, got {raw!r}")
    return raw.rstrip("/")


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment, validated."""

    database_url: str
    redis_url: str
    email_backend: str = "file"
    sendgrid_api_key: str = ""
    sendgrid_host: str = "https://api.sendgrid.com"
    email_from: str = "alerts@shelfops.example"
    outbox_dir: Path = Path(".shelfops/outbox")
    templates_dir: Path = DEFAULT_TEMPLATES_DIR
    #: SKUs per batch check. Larger batches spread Celery's per-message cost over more SKUs
    #: (bench/sweep.py at 1M SKUs: 500 → 58 s, 2000 → 31 s) at ~100 MB per worker.
    batch_size: int = 2000
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
    visibility_timeout_s: int = 3600
    outbox_relay_after_s: float = 60.0
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
    #: Days kept by ``shelfops.prune`` (README "Retention"): resolved alerts, alert history,
    #: silences and sweeps; sent or failed e-mails; past forecasts; sales and past arrivals.
    retain_history_days: int = 90
    retain_deliveries_days: int = 30
    retain_forecast_days: int = 90
    retain_sales_days: int = 90
    extra: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

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
    def sqlalchemy_url(self) -> str:
        """The database URL with the psycopg2 driver named, as SQLAlchemy wants it."""
        url = self.database_url
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg2://" + url[len(prefix) :]
        return url


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise :class:`ConfigError` naming the first bad one."""
    env = gather_environment(environ)
    hint = "Set it, or run `shelfops-alerts dev` in this folder to start the embedded stack."
    database_url = _url(
        env, "SHELFOPS_DATABASE_URL", ("postgresql", "postgres", "postgresql+psycopg2"), hint
    )
    redis_url = _url(env, "SHELFOPS_REDIS_URL", ("redis", "rediss", "unix"), hint)

    backend = env.get("SHELFOPS_EMAIL_BACKEND", "file").strip() or "file"
    if backend not in EMAIL_BACKENDS:
        raise ConfigError(
            f"SHELFOPS_EMAIL_BACKEND must be one of {', '.join(EMAIL_BACKENDS)}, got {backend!r}"
        )
    api_key = env.get("SENDGRID_API_KEY", "").strip()
    if backend == "sendgrid" and not api_key:
        raise ConfigError("SENDGRID_API_KEY is not set, and SHELFOPS_EMAIL_BACKEND is sendgrid")
    sendgrid_host = env.get("SHELFOPS_SENDGRID_HOST", "").strip() or Settings.sendgrid_host
    if urlparse(sendgrid_host).scheme not in ("http", "https"):
        raise ConfigError(f"SHELFOPS_SENDGRID_HOST must be an http(s) URL, got {sendgrid_host!r}")
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
        batch_size=_positive_int(env, "SHELFOPS_BATCH_SIZE", Settings.batch_size),
        sweep_interval_s=_positive_float(
            env, "SHELFOPS_SWEEP_INTERVAL_S", Settings.sweep_interval_s
        ),
        sweep_lock_ttl_s=_positive_float(
            env, "SHELFOPS_SWEEP_LOCK_TTL_S", Settings.sweep_lock_ttl_s
        ),
        email_rate=_positive_float(env, "SHELFOPS_EMAIL_RATE", Settings.email_rate),
        email_max_retries=_positive_int(
            env, "SHELFOPS_EMAIL_MAX_RETRIES", Settings.email_max_retries
        ),
        email_retry_backoff_s=_positive_float(
            env, "SHELFOPS_EMAIL_RETRY_BACKOFF_S", Settings.email_retry_backoff_s
        ),
        email_timeout_s=_positive_float(env, "SHELFOPS_EMAIL_TIMEOUT_S", Settings.email_timeout_s),
        email_max_age_s=_positive_float(env, "SHELFOPS_EMAIL_MAX_AGE_S", Settings.email_max_age_s),
        email_max_pause_s=_positive_float(
            env, "SHELFOPS_EMAIL_MAX_PAUSE_S", Settings.email_max_pause_s
        ),
        digest_window_s=_non_negative_float(
            env, "SHELFOPS_DIGEST_WINDOW_S", Settings.digest_window_s
        ),
        visibility_timeout_s=_positive_int(
            env, "SHELFOPS_VISIBILITY_TIMEOUT_S", Settings.visibility_timeout_s
        ),
        outbox_relay_after_s=_positive_float(
            env, "SHELFOPS_OUTBOX_RELAY_AFTER_S", Settings.outbox_relay_after_s
        ),
        dashboard_url=_dashboard_url(env),
        stream_maxlen=_positive_int(env, "SHELFOPS_STREAM_MAXLEN", Settings.stream_maxlen),
        stream_heartbeat_s=_positive_float(
            env, "SHELFOPS_STREAM_HEARTBEAT_S", Settings.stream_heartbeat_s
        ),
        stream_client_buffer=_positive_int(
            env, "SHELFOPS_STREAM_CLIENT_BUFFER", Settings.stream_client_buffer
        ),
        session_ttl_s=_positive_float(env, "SHELFOPS_SESSION_TTL_S", Settings.session_ttl_s),
        login_link_ttl_s=_positive_float(
            env, "SHELFOPS_LOGIN_LINK_TTL_S", Settings.login_link_ttl_s
        ),
        resolve_after_checks=_positive_int(
            env, "SHELFOPS_RESOLVE_AFTER_CHECKS", Settings.resolve_after_checks
        ),
        reopen_within_s=_positive_float(env, "SHELFOPS_REOPEN_WITHIN_S", Settings.reopen_within_s),
        log_format=log_format,
        retain_history_days=_positive_int(
            env, "SHELFOPS_RETAIN_HISTORY_DAYS", Settings.retain_history_days
        ),
        retain_deliveries_days=_positive_int(
            env, "SHELFOPS_RETAIN_DELIVERIES_DAYS", Settings.retain_deliveries_days
        ),
        retain_forecast_days=_positive_int(
            env, "SHELFOPS_RETAIN_FORECAST_DAYS", Settings.retain_forecast_days
        ),
        retain_sales_days=_positive_int(
            env, "SHELFOPS_RETAIN_SALES_DAYS", Settings.retain_sales_days
        ),
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
    return settings
