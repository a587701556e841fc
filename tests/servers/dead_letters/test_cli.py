"""``shelfops-alerts dead-letters`` and ``status`` on the real database and broker."""

from __future__ import annotations

import json

from shelfops_alerts.dead_letters.store import Message
from tests.servers.dead_letters.test_store import CHECK, park_check
from tests.support.broker import queued
from tests.support.cli import run


def test_operators_list_show_replay_and_discard_dead_letters(db, cli_env, capsys, settings):
    # Given two parked messages: a check with 2,000 SKUs and an e-mail delivery
    big = Message(
        task_name=CHECK.task_name,
        task_id="check-big",
        args=["acme", [f"S1/P{n}" for n in range(2000)]],
        queue="alerts",
    )
    check_id = park_check(db, big)
    mail_id = park_check(db, Message("shelfops.send_alert_email", "mail-1", [42], queue="email"))

    # When an operator lists them
    code, out, _ = run(capsys, "dead-letters", "list")
    # Then each is one line, newest first, its arguments cut short
    assert code == 0
    header, *lines = out.splitlines()
    assert header.split()[:4] == ["ID", "STATUS", "TASK", "DELIVERIES"]
    assert [line.split()[:4] for line in lines] == [
        [str(mail_id), "parked", "shelfops.send_alert_email", "4"],
        [str(check_id), "parked", "shelfops.check_stockout_risk", "4"],
    ]
    assert all(len(line) < 200 for line in lines)
    code, out, _ = run(capsys, "dead-letters", "list", "--json")
    assert [d["id"] for d in json.loads(out)] == [mail_id, check_id]

    # And shows one: every field, the message whole
    code, out, _ = run(capsys, "dead-letters", "show", str(check_id))
    assert code == 0 and "started 3 times without finishing" in out and "S1/P1999" in out
    code, out, _ = run(capsys, "dead-letters", "show", str(check_id), "--json")
    assert json.loads(out)["args"] == big.args
    code, _, err = run(capsys, "dead-letters", "show", "999")
    assert code == 2 and "no dead letter 999" in err

    # And the broker waits for status: it reports the parked count and stays informative
    code, out, _ = run(capsys, "status", "--json")
    assert json.loads(out)["dead_letters"] == {"parked": 2}
    code, out, _ = run(capsys, "status")
    assert "2 dead letter(s) parked" in out

    # When the check is replayed (with an unknown id beside it) and the e-mail discarded
    code, out, err = run(capsys, "dead-letters", "replay", str(check_id), "999", "--by", "ana")
    # Then the check is queued again and the unknown id refused (exit 2)
    assert code == 2 and f"dead letter {check_id} queued again as task" in out
    assert "no dead letter 999" in err
    assert [m.args for m in queued(settings.redis_url.reveal(), "alerts")] == [big.args]
    code, _, err = run(
        capsys, "dead-letters", "discard", str(mail_id), "--by", "ana", "--reason", ""
    )
    assert code == 2 and "--reason must say why" in err
    code, out, _ = run(
        capsys, "dead-letters", "discard", str(mail_id), "--by", "ana", "--reason", "duplicate"
    )
    assert code == 0 and f"dead letter {mail_id} discarded" in out
    code, _, err = run(
        capsys, "dead-letters", "discard", str(mail_id), "--by", " ", "--reason", "again"
    )
    assert code == 2 and "--by must name who acts" in err

    # And nothing is parked any more; --all still lists both, with what became of them
    code, out, _ = run(capsys, "dead-letters", "list")
    assert (code, out.strip()) == (0, "no parked dead letters")
    code, out, _ = run(capsys, "dead-letters", "list", "--all", "--json")
    assert {d["id"]: d["status"] for d in json.loads(out)} == {
        check_id: "replayed",
        mail_id: "discarded",
    }
    code, out, _ = run(capsys, "status", "--json")
    assert json.loads(out)["dead_letters"] == {"parked": 0}
