"""Silences over HTTP: the token's customer's only, validated like the command line."""

from __future__ import annotations

import pytest

from tests.support.data import rows
from tests.support.web import api, new_token


def test_a_silence_is_added_listed_and_expired(db, web):
    with api(web, new_token(db, "acme")) as acme, api(web, new_token(db, "globex")) as globex:
        # When acme silences a store's stockouts for two hours
        added = acme.post(
            "/v1/silences",
            json={
                "store_id": "S1",
                "alert_type": "stockout_predicted",
                "until": "2h",
                "by": "ann",
                "reason": "stocktake",
            },
        )
        assert added.status_code == 201
        silence = added.json()
        assert (silence["customer_id"], silence["store_id"], silence["active"]) == (
            "acme",
            "S1",
            True,
        )
        # Then acme lists it, globex does not see it and cannot end it
        assert [s["silence_id"] for s in acme.get("/v1/silences").json()["silences"]] == [
            silence["silence_id"]
        ]
        assert globex.get("/v1/silences").json() == {"silences": []}
        assert globex.delete(f"/v1/silences/{silence['silence_id']}").status_code == 404
        # When acme ends it
        ended = acme.delete(f"/v1/silences/{silence['silence_id']}", params={"by": "ann"})
        assert ended.status_code == 200
        assert (ended.json()["active"], ended.json()["expired_by"]) == (False, "ann")
        assert acme.get("/v1/silences").json() == {"silences": []}
        assert len(acme.get("/v1/silences", params={"all": "true"}).json()["silences"]) == 1
        # And ending it again is a conflict
        assert acme.delete(f"/v1/silences/{silence['silence_id']}").status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"until": "2000-01-01T00:00:00", "by": "ann", "reason": "r"}, "until"),
        ({"until": "soon", "by": "ann", "reason": "r"}, "until"),
        ({"until": "99999999999w", "by": "ann", "reason": "r"}, "until"),
        ({"until": "2h", "by": "", "reason": "r"}, "by"),
        ({"until": "2h", "by": "ann", "reason": " "}, "reason"),
        ({"until": "2h", "by": "ann", "reason": "r", "alert_type": "fire"}, "alert_type"),
        ({"until": "2h", "by": "ann", "reason": "r", "customer_id": "globex"}, "customer_id"),
    ],
)
def test_a_bad_silence_is_422_naming_the_field_and_nothing_is_stored(db, web, body, field):
    with api(web, new_token(db, "acme")) as acme:
        answer = acme.post("/v1/silences", json=body)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][:2] == ["body", field]
    assert rows(db, "SELECT count(*) FROM alert_silences")[0][0] == 0
