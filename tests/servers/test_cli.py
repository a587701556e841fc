"""The user's door without workers: refusals that change nothing, on the real database."""

from __future__ import annotations

import redis

from tests.support.cli import run
from tests.support.data import rows


def test_a_bad_csv_row_is_refused_with_its_line_and_nothing_is_kept(db, cli_env, capsys, tmp_path):
    bad = tmp_path / "inventory.csv"
    bad.write_text(
        "customer_id,store_id,product_id,on_hand\nshop,S1,A,5\nshop,S1,B,-2\nshop,S1,C,1\n"
    )
    code, _, err = run(capsys, "import", "inventory", str(bad))
    assert code == 2
    assert "line 3" in err and "on_hand" in err and "nothing of this file was imported" in err
    assert rows(db, "SELECT count(*) FROM inventory")[0][0] == 0


def test_a_malformed_event_is_refused_before_it_is_queued(db, cli_env, capsys, settings):
    code, _, err = run(capsys, "emit", "forecast-complete", "--customer", "shop", "--sku", "X")
    assert code == 2 and "must be written STORE/PRODUCT" in err
    assert redis.Redis.from_url(settings.redis_url).llen("alerts") == 0
