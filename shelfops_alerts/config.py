"""One validated settings object, read from the environment.

Where a value comes from, highest first:

1. the process environment;
2. a ``.env`` file in the current folder (``KEY=value`` lines);
3. ``.shelfops/stack.env``, written by ``shelfops-alerts dev`` while it runs, so the other
   commands in the same folder find the embedded stack without any setting.

Every variable is documented in the README. A missing or malformed value raises
:class:`ConfigError` naming the variable, at start, before any work is done.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

#: Folder (relative to the working directory) where ``dev`` keeps its servers and state.
STACK_DIR = Path(".shelfops")
#: File ``dev`` writes with the URLs of the embedded stack while it runs.
STACK_ENV = STACK_DIR / "stack.env"
#: E-mail templates shipped inside the package (``notify/email/templates/``).
DEFAULT_TEMPLATES_DIR = Path(__file__).resolve().parent / "notify" / "email" / "templates"

EMAIL_BACKENDS = ("file", "console", "sendgrid")
SEVERITIES = ("low", "medium", "high", "critical")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def read_env_file(path: Path) -> dict[str, str]:
    """Parse ``KEY=value`` lines (``#`` comments, optional quotes); a missing file is empty."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :]
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{path}:{number}: expected KEY=value, got {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


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
    stack = read_env_file(STACK_ENV)
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
    #: SKUs per batch check. Larger batches spread Celery's per-message cost (three tasks per
    #: batch) over more SKUs: at 100k SKUs, 5000 costs the workers 30 % less CPU than 2000
    #: (bench/sweep.py; see the README's Performance section), at ~100 MB per worker.
    batch_size: int = 5000
    sweep_interval_s: float = 900.0
    sweep_lock_ttl_s: float = 600.0
    email_rate: float = 10.0
    email_max_retries: int = 8
    email_retry_backoff_s: float = 30.0
    email_timeout_s: float = 10.0
    #: A delivery (or digest) older than this is failed instead of retried again.
    email_max_age_s: float = 86400.0
    #: Quiet-period window for digests (seconds); 0 sends every alert change on its own.
    digest_window_s: float = 60.0
    visibility_timeout_s: int = 3600
    outbox_relay_after_s: float = 60.0
    dashboard_url: str = "http://localhost:8000/alerts"
    #: Consecutive clean checks before an alert resolves itself (hysteresis against flapping).
    resolve_after_checks: int = 2
    #: A resolved alert that fires again within this many seconds is re-opened, not re-created.
    reopen_within_s: float = 86400.0
    extra: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

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
        digest_window_s=_non_negative_float(
            env, "SHELFOPS_DIGEST_WINDOW_S", Settings.digest_window_s
        ),
        visibility_timeout_s=_positive_int(
            env, "SHELFOPS_VISIBILITY_TIMEOUT_S", Settings.visibility_timeout_s
        ),
        outbox_relay_after_s=_positive_float(
            env, "SHELFOPS_OUTBOX_RELAY_AFTER_S", Settings.outbox_relay_after_s
        ),
        dashboard_url=env.get("SHELFOPS_DASHBOARD_URL", "").strip() or Settings.dashboard_url,
        resolve_after_checks=_positive_int(
            env, "SHELFOPS_RESOLVE_AFTER_CHECKS", Settings.resolve_after_checks
        ),
        reopen_within_s=_positive_float(env, "SHELFOPS_REOPEN_WITHIN_S", Settings.reopen_within_s),
    )
    if settings.email_timeout_s >= settings.outbox_relay_after_s:
        # Otherwise the relay would take a slow but live send for a dead one and send it again.
        raise ConfigError(
            f"SHELFOPS_EMAIL_TIMEOUT_S ({settings.email_timeout_s:g}) must be below"
            f" SHELFOPS_OUTBOX_RELAY_AFTER_S ({settings.outbox_relay_after_s:g})"
        )
    return settings
