"""The user's door without workers: refusals that change nothing, on the real database."""

from __future__ import annotations

import redis

from tests.support.cli import run
from tests.support.data import rows
from tests.support.lifecycle_data import put_accuracy_alert


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
    assert redis.Redis.from_url(settings.redis_url.reveal()).llen("alerts") == 0


def test_alerts_list_sizes_its_columns_to_a_long_customer_id(db, cli_env, capsys):
    # Given two alerts, one for a customer whose id is far longer than the column's header
    long_id = "a-customer-id-much-longer-than-ten-characters"
    put_accuracy_alert(db, long_id, "S1", "P1")
    put_accuracy_alert(db, "acme", "S22", "P333")
    # When an operator lists them
    code, out, _ = run(capsys, "alerts", "list")
    # Then every row's SKU and message start where the header's SKU and MESSAGE do
    assert code == 0
    header, *lines = out.splitlines()
    assert len(lines) == 2
    sku_at, message_at = header.index("SKU"), header.index("MESSAGE")
    for line in lines:
        sku = "S1/P1" if long_id in line else "S22/P333"
        assert line.index(sku) == sku_at, out
        assert line.index("Forecast error") == message_at, out
