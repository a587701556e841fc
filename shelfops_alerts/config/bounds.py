"""Settings whose waits must nest: each bound fires before the one after it.

A statement's deadline comes before its task's time limit, the e-mail request's timeout
before the e-mail tasks' time limit, and a fault's retry wait before the broker redelivers
the message (:meth:`Settings.max_countdown_s`). :func:`check_bounds` refuses settings that
break one, naming the variables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shelfops_alerts.config.readers import ConfigError

if TYPE_CHECKING:
    from shelfops_alerts.config.settings import Settings


def check_bounds(settings: Settings) -> None:
    """Raise :class:`ConfigError` when one of the settings' waits does not fit the next."""
    from shelfops_alerts.outages.postgres import answer_deadline_s
    from shelfops_alerts.outages.time_limits import DATABASE_SOFT_LIMIT_S, MAIL_SOFT_LIMIT_S

    if settings.email_timeout_s >= MAIL_SOFT_LIMIT_S:
        # The e-mail tasks' time limit would cut a request the provider may still accept.
        raise ConfigError(
            f"SHELFOPS_EMAIL_TIMEOUT_S ({settings.email_timeout_s:g}) must be below the e-mail"
            f" tasks' soft time limit ({MAIL_SOFT_LIMIT_S:g} s)"
        )
    if answer_deadline_s(settings) >= DATABASE_SOFT_LIMIT_S:
        # A stalled statement must fail as a database fault (retried), not hit a time limit.
        raise ConfigError(
            f"SHELFOPS_DB_STATEMENT_TIMEOUT_S ({settings.db_statement_timeout_s:g}) plus its"
            f" grace ({answer_deadline_s(settings):g} s) must be below the tasks' soft time"
            f" limit ({DATABASE_SOFT_LIMIT_S:g} s)"
        )
    if settings.fault_retry_cap_s > settings.max_countdown_s:
        # A retry waiting longer than this could be redelivered before it is due, and run twice.
        raise ConfigError(
            f"SHELFOPS_FAULT_RETRY_CAP_S ({settings.fault_retry_cap_s:g}) must be at most"
            f" half of SHELFOPS_VISIBILITY_TIMEOUT_S ({settings.visibility_timeout_s}),"
            f" i.e. {settings.max_countdown_s:g}"
        )
