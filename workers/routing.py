"""Queues and which task goes where.

``alerts`` carries detection, persistence and publishing; ``email`` carries delivery only,
served by its own worker processes so a slow mail provider never delays detection.
"""

ALERTS_QUEUE = "alerts"
EMAIL_QUEUE = "email"

TASK_ROUTES = {
    "shelfops.send_alert_email": {"queue": EMAIL_QUEUE},
    "shelfops.*": {"queue": ALERTS_QUEUE},
}
