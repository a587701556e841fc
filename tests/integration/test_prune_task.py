"""``shelfops.prune`` by name, as beat sends it: a worker prunes what retention no longer keeps."""

from __future__ import annotations

from shelfops_alerts.intake.client import send_event
from shelfops_alerts.vocabulary import PRUNE_TASK
from tests.servers.retention.test_prune_tables import alert, change, delivery, ids
from tests.support.waiting import wait_until


def test_the_prune_task_deletes_old_mail_and_keeps_the_rest(pipeline, settings):
    db = pipeline
    a = alert(db, "P1")
    h = change(db, a, 100)
    old = delivery(db, a, h, "sent", 400)
    recent = delivery(db, a, h, "sent", 1)
    send_event(PRUNE_TASK, {}, settings=settings)
    wait_until(lambda: old not in ids(db, "email_deliveries"), 30, "the old delivery to go")
    assert ids(db, "email_deliveries") == {recent}
