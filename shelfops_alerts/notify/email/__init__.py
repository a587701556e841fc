"""E-mail for alerts: rendering (templates) apart from sending (backends).

Typical use, in the e-mail task::

    rendered = render_alert_email(alert, templates_dir=settings.templates_dir,
                                  dashboard_url=settings.dashboard_url)
    email = build_outgoing(rendered, to=recipient, sender=settings.email_from,
                           alert_id=alert["alert_id"], delivery_id=delivery_id)
    result = backend_for(settings).send(email)   # or TransientSendError / PermanentSendError

Nothing here imports Celery or SQLAlchemy.
"""

from shelfops_alerts.notify.email.backends import (
    ConsoleBackend,
    EmailBackend,
    FileBackend,
    SendGridBackend,
    backend_for,
)
from shelfops_alerts.notify.email.errors import PermanentSendError, SendError, TransientSendError
from shelfops_alerts.notify.email.message import (
    ALERT_ID_HEADER,
    DELIVERY_ID_HEADER,
    DIGEST_ID_HEADER,
    OutgoingEmail,
    SendResult,
    build_digest_outgoing,
    build_outgoing,
)
from shelfops_alerts.notify.email.render import (
    RenderedEmail,
    render_alert_email,
    render_digest_email,
)

__all__ = [
    "ALERT_ID_HEADER",
    "DELIVERY_ID_HEADER",
    "DIGEST_ID_HEADER",
    "ConsoleBackend",
    "EmailBackend",
    "FileBackend",
    "OutgoingEmail",
    "PermanentSendError",
    "RenderedEmail",
    "SendError",
    "SendGridBackend",
    "SendResult",
    "TransientSendError",
    "backend_for",
    "build_digest_outgoing",
    "build_outgoing",
    "render_alert_email",
    "render_digest_email",
]
