"""Which task goes to which queue (the names: :mod:`shelfops_alerts.vocabulary`).

``alerts`` carries detection, persistence, publishing and the periodic tasks; ``email``
carries delivery only, served by its own worker processes so a slow mail provider never
delays detection.
"""

from shelfops_alerts.vocabulary import ALERTS_QUEUE, EMAIL_QUEUE, EMAIL_TASKS

TASK_ROUTES = {
    **{name: {"queue": EMAIL_QUEUE} for name in EMAIL_TASKS},
    "shelfops.*": {"queue": ALERTS_QUEUE},
}
