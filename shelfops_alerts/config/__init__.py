"""One validated settings object (:mod:`.settings`), read from the environment
(:mod:`.environment`) by typed readers (:mod:`.readers`); secret values print masked
(:mod:`.secrets`)."""

from shelfops_alerts.config.environment import (
    STACK_DIR,
    STACK_ENV,
    gather_environment,
    read_env_file,
)
from shelfops_alerts.config.readers import ConfigError
from shelfops_alerts.config.secrets import Secret, SecretURL
from shelfops_alerts.config.settings import (
    DEFAULT_TEMPLATES_DIR,
    EMAIL_BACKENDS,
    LOG_FORMATS,
    SAFE_COUNTDOWN_FRACTION,
    Settings,
    load_settings,
)

__all__ = [
    "DEFAULT_TEMPLATES_DIR",
    "EMAIL_BACKENDS",
    "LOG_FORMATS",
    "SAFE_COUNTDOWN_FRACTION",
    "STACK_DIR",
    "STACK_ENV",
    "ConfigError",
    "Secret",
    "SecretURL",
    "Settings",
    "gather_environment",
    "load_settings",
    "read_env_file",
]
