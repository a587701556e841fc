"""Typed readers of one setting each: a number, a URL, a secret. A bad value raises
:class:`ConfigError` naming the variable (and never quoting a secret)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from urllib.parse import urlparse

from shelfops_alerts.config.secrets import Secret, SecretURL, mask_urls


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def read_float(env: Mapping[str, str], name: str, default: float, *, allow_zero: bool) -> float:
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


def positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    return read_float(env, name, default, allow_zero=False)


def non_negative_float(env: Mapping[str, str], name: str, default: float) -> float:
    return read_float(env, name, default, allow_zero=True)


def positive_int(env: Mapping[str, str], name: str, default: int) -> int:
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


def secret_url(env: Mapping[str, str], name: str, schemes: tuple[str, ...], hint: str) -> SecretURL:
    raw = env.get(name, "").strip()
    if not raw:
        raise ConfigError(f"{name} is not set. {hint}")
    scheme = urlparse(raw).scheme
    if scheme not in schemes:
        raise ConfigError(
            f"{name} must be a URL starting with {' or '.join(schemes)}://, got {mask_urls(raw)!r}"
        )
    return SecretURL(raw)


def secret(env: Mapping[str, str], name: str, *, min_length: int = 0) -> Secret:
    """A secret setting (stripped; empty when unset). A value shorter than ``min_length``
    is refused, and the error says how long it was, never what it was."""
    raw = env.get(name, "").strip()
    if raw and len(raw) < min_length:
        raise ConfigError(f"{name} must be at least {min_length} characters, got {len(raw)}")
    return Secret(raw)
