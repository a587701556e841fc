"""Log lines: one JSON object per line with the task's context, and never a secret."""

from __future__ import annotations

import io
import json
import logging

import pytest

from shelfops_alerts import logs


@pytest.fixture()
def json_log():
    """A logger writing JSON lines into a buffer, as a worker's handler would."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    logs.use_format(handler, "json")
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, buffer
    logger.removeHandler(handler)
    logs.clear()


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_json_line_carries_the_bound_task_fields_until_they_are_cleared(json_log):
    logger, buffer = json_log
    # Given a task's context is bound
    logs.bind(task_name="shelfops.check_stockout_risk", task_id="t-1", customer_id="acme")
    # When a line is logged with a message spanning two lines, then the task ends
    logger.info("checked %d SKUs\nsecond line", 3)
    logs.clear()
    logger.warning("after the task")
    # Then each record is one JSON line; the first has the task's fields, the second none
    first, second = lines(buffer)
    assert first["message"] == "checked 3 SKUs\nsecond line"
    assert first["level"] == "info" and first["logger"] == "tests.logs"
    assert (first["task_name"], first["task_id"], first["customer_id"]) == (
        "shelfops.check_stockout_risk",
        "t-1",
        "acme",
    )
    assert first["time"].endswith("+00:00")
    assert "task_id" not in second and second["level"] == "warning"


def test_an_exception_is_in_the_same_line(json_log):
    logger, buffer = json_log
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("it failed")
    (line,) = lines(buffer)
    assert "RuntimeError: boom" in line["exception"] and line["message"] == "it failed"


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        ("redis://:hunter2pw@redis:6379/0 down", "hunter2pw", "redis://:**********@redis:6379/0"),
        (
            "could not connect to postgresql://shelfops:s3cret@db/shelfops",
            "s3cret",
            "postgresql://shelfops:**********@db/shelfops",
        ),
        (
            "key SG.abcdefghijkl.mnopqrstuvwxyz0123 refused",
            "abcdefghijkl",
            "key SG.********** refused",
        ),
        ("Authorization: Bearer abcdef0123456789", "abcdef0123456789", "Bearer **********"),
    ],
)
def test_secrets_are_masked_in_messages(json_log, text, secret, kept):
    logger, buffer = json_log
    logger.error("%s", text)
    (line,) = lines(buffer)
    assert secret not in line["message"] and kept in line["message"]


def test_a_registered_secret_is_masked_in_tracebacks_too(json_log):
    logger, buffer = json_log
    logs.register_secret("a-long-api-key-value-123")
    try:
        raise ValueError("provider said: bad key a-long-api-key-value-123")
    except ValueError:
        logger.exception("send failed")
    (line,) = lines(buffer)
    assert "a-long-api-key-value-123" not in buffer.getvalue()
    assert "bad key **********" in line["exception"]


def test_text_lines_are_masked_as_well():
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logs.use_format(handler, "text")
    logger = logging.getLogger("tests.logs.text")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("broker redis://user:pw123456@host:6379 lost")
    finally:
        logger.removeHandler(handler)
    assert buffer.getvalue() == "WARNING broker redis://user:**********@host:6379 lost\n"


def test_task_fields_name_what_each_task_is_about_and_nothing_else():
    # A batch check: customer, the SKUs (counted), the sweep context
    check = logs.task_fields(
        {
            "customer_id": "acme",
            "skus": [["S1", "P1"], ["S1", "P2"]],
            "context": {"sweep_id": 7, "batch": 3, "lock": "token"},
        }
    )
    assert check == {"customer_id": "acme", "batch_size": 2, "sweep_id": 7, "batch_no": 3}
    # The persist step gets the check's result: the same, read from inside it
    persist = logs.task_fields(
        {
            "batch": {
                "customer_id": "acme",
                "evaluated": [["S1", "P1", "stockout"], ["S1", "P1", "reorder"], ["S1", "P2", "x"]],
                "findings": [{"message": "not for the log"}],
                "context": {"sweep_id": 7},
            }
        }
    )
    assert persist == {"customer_id": "acme", "batch_size": 2, "sweep_id": 7}
    # ... also when the check wrote its pairs in the compact form, beside SKUs it did not know
    compact = logs.task_fields(
        {
            "batch": {
                "customer_id": "acme",
                "evaluated": {
                    "stores": ["S1", "S1"],
                    "products": ["P1", "P2"],
                    "types": {"stockout_predicted": [[0, 2]]},
                },
                "unknown": [["S9", "P9"]],
            }
        }
    )
    assert compact == {"customer_id": "acme", "batch_size": 3}
    # An e-mail task: only its id
    assert logs.task_fields({"delivery_id": 12}) == {"delivery_id": 12}
