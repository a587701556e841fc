"""Senders: the .eml outbox, the console, and SendGrid against a fake API on a real socket."""

from __future__ import annotations

import io
import json
import pickle
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from shelfops_alerts.config import Settings
from shelfops_alerts.notify.email import (
    ALERT_ID_HEADER,
    DELIVERY_ID_HEADER,
    ConsoleBackend,
    FileBackend,
    OutgoingEmail,
    PermanentSendError,
    RenderedEmail,
    SendGridBackend,
    TransientSendError,
    backend_for,
    build_outgoing,
)
from shelfops_alerts.notify.email.errors import retry_after_seconds
from tests.fakes import FakeSendGridAPI, Reply

API_KEY = "SG.unit-test-key"


@pytest.fixture()
def fake() -> Iterator[FakeSendGridAPI]:
    with FakeSendGridAPI(api_key=API_KEY) as server:
        yield server


def outgoing(delivery_id: int | None = 7) -> OutgoingEmail:
    rendered = RenderedEmail(
        subject="[CRITICAL] Stockout in 0.8 days: product P1 at store S1",
        text="Product P1 runs out in 0.8 days.\n",
        html="<p>Product <b>P1</b> runs out in 0.8 days.</p>\n",
    )
    return build_outgoing(
        rendered,
        to="buyer@retailer.example",
        sender="alerts@shelfops.example",
        alert_id=42,
        delivery_id=delivery_id,
    )


def sendgrid(fake: FakeSendGridAPI, timeout_s: float = 5.0) -> SendGridBackend:
    return SendGridBackend(api_key=API_KEY, host=fake.url, timeout_s=timeout_s)


def test_file_backend_writes_a_parseable_eml_with_both_parts(tmp_path: Path) -> None:
    # Given a file backend whose outbox does not exist yet
    outbox = tmp_path / "nested" / "outbox"
    backend = FileBackend(outbox)

    # When an e-mail is sent
    result = backend.send(outgoing())

    # Then exactly one .eml file holds it, and no temporary file is left behind
    files = list(outbox.iterdir())
    assert [f.suffix for f in files] == [".eml"]
    assert files[0].name.endswith("-7.eml")
    message = BytesParser(policy=policy.default).parse(files[0].open("rb"))
    # And it is a multipart/alternative message with the tracing headers and our Message-ID
    assert message.get_content_type() == "multipart/alternative"
    assert message["To"] == "buyer@retailer.example"
    assert message["Subject"] == "[CRITICAL] Stockout in 0.8 days: product P1 at store S1"
    assert message[ALERT_ID_HEADER] == "42"
    assert message[DELIVERY_ID_HEADER] == "7"
    assert message["Message-ID"] == result.provider_message_id
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and "runs out in 0.8 days" in plain.get_content()
    assert html is not None and "<b>P1</b>" in html.get_content()


def test_file_backend_names_files_without_a_delivery_uniquely(tmp_path: Path) -> None:
    # Given two e-mails that belong to no delivery
    backend = FileBackend(tmp_path)

    # When both are sent
    backend.send(outgoing(delivery_id=None))
    backend.send(outgoing(delivery_id=None))

    # Then each has its own file
    assert len(list(tmp_path.glob("*.eml"))) == 2


def test_console_backend_prints_headers_and_text() -> None:
    # Given a console backend on a buffer
    stream = io.StringIO()

    # When an e-mail is sent
    result = ConsoleBackend(stream).send(outgoing())

    # Then the headers and the plain text are printed, with the returned id
    printed = stream.getvalue()
    assert "Subject: [CRITICAL] Stockout in 0.8 days" in printed
    assert f"{ALERT_ID_HEADER}: 42" in printed
    assert "Product P1 runs out in 0.8 days." in printed
    assert result.provider_message_id and result.provider_message_id in printed


def test_outgoing_email_refuses_header_injection() -> None:
    # Given a subject with a line break, Then the e-mail cannot even be built
    with pytest.raises(ValueError, match="single line"):
        OutgoingEmail(
            to="a@b.example", sender="c@d.example", subject="hi\nBcc: x@evil", text="", html=""
        )


def test_sendgrid_accepted_returns_message_id_and_sends_everything(fake: FakeSendGridAPI) -> None:
    # Given a provider that accepts the message
    backend = sendgrid(fake)

    # When an e-mail is sent
    result = backend.send(outgoing())

    # Then the provider's X-Message-Id comes back
    assert result.provider_message_id == "fake-1"
    # And the request carried the bearer key, both bodies, headers and custom args
    (request,) = fake.requests
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    body = request.json
    assert body["custom_args"] == {"alert_id": "42", "delivery_id": "7"}
    assert body["headers"] == {ALERT_ID_HEADER: "42", DELIVERY_ID_HEADER: "7"}
    assert body["personalizations"][0]["to"][0]["email"] == "buyer@retailer.example"
    assert {c["type"] for c in body["content"]} == {"text/plain", "text/html"}


def test_sendgrid_wrong_key_is_permanent(fake: FakeSendGridAPI) -> None:
    # Given a backend with a key the provider does not know
    backend = SendGridBackend(api_key="SG.wrong", host=fake.url, timeout_s=5)

    # When it sends, Then the error is permanent and says why
    with pytest.raises(PermanentSendError, match="authorization grant is invalid") as caught:
        backend.send(outgoing())
    assert caught.value.status == 401


def test_sendgrid_server_error_is_transient(fake: FakeSendGridAPI) -> None:
    # Given a provider failing with 500
    fake.script([500])

    # When an e-mail is sent, Then it is a transient error carrying the status
    with pytest.raises(TransientSendError) as caught:
        sendgrid(fake).send(outgoing())
    assert caught.value.status == 500
    assert caught.value.retry_after is None


def test_sendgrid_rate_limit_reset_becomes_retry_after(fake: FakeSendGridAPI) -> None:
    # Given a provider that rate-limits until 30 s from now
    fake.script([(429, {"X-RateLimit-Reset": str(int(time.time()) + 30)})])

    # When an e-mail is sent
    with pytest.raises(TransientSendError) as caught:
        sendgrid(fake).send(outgoing())

    # Then the error asks to wait about that long
    assert caught.value.status == 429
    assert caught.value.retry_after is not None
    assert 27 <= caught.value.retry_after <= 31


def test_sendgrid_retry_after_header_wins(fake: FakeSendGridAPI) -> None:
    # Given a 429 with Retry-After in seconds
    fake.script([(429, {"Retry-After": "12"})])

    # When an e-mail is sent, Then retry_after is exactly that
    with pytest.raises(TransientSendError) as caught:
        sendgrid(fake).send(outgoing())
    assert caught.value.retry_after == 12


def test_sendgrid_dropped_connection_is_transient(fake: FakeSendGridAPI) -> None:
    # Given a provider that hangs up without answering
    fake.script(["drop"])

    # When an e-mail is sent, Then the error is transient
    with pytest.raises(TransientSendError, match="could not be reached"):
        sendgrid(fake).send(outgoing())


def test_sendgrid_bad_request_is_permanent_with_the_providers_reason(
    fake: FakeSendGridAPI,
) -> None:
    # Given a provider that rejects the recipient
    reason = {"errors": [{"message": "Does not contain a valid address.", "field": "to"}]}
    fake.script([(400, reason)])

    # When an e-mail is sent, Then the error is permanent and quotes the provider
    with pytest.raises(PermanentSendError, match="Does not contain a valid address") as caught:
        sendgrid(fake).send(outgoing())
    assert caught.value.status == 400


def test_sendgrid_long_error_bodies_are_cut(fake: FakeSendGridAPI) -> None:
    # Given a provider answering with a huge error page
    fake.script([(503, "x" * 10_000)])

    # When an e-mail is sent, Then the message keeps only an excerpt
    with pytest.raises(TransientSendError) as caught:
        sendgrid(fake).send(outgoing())
    assert len(str(caught.value)) < 600


def test_sendgrid_slow_answer_times_out_as_transient(fake: FakeSendGridAPI) -> None:
    # Given a provider that takes 2 s to answer, and a 0.5 s timeout
    fake.script([("sleep", 2)])
    started = time.monotonic()

    # When an e-mail is sent, Then it fails as transient without waiting for the answer
    with pytest.raises(TransientSendError, match="did not answer within 0.5 s"):
        sendgrid(fake, timeout_s=0.5).send(outgoing())
    assert time.monotonic() - started < 1.8


def test_sendgrid_unreachable_host_is_transient(fake: FakeSendGridAPI) -> None:
    # Given a host where nothing listens any more
    url = fake.url
    fake.stop()

    # When an e-mail is sent, Then the error is transient
    with pytest.raises(TransientSendError, match="could not be reached"):
        SendGridBackend(api_key=API_KEY, host=url, timeout_s=2).send(outgoing())


def test_scripted_answers_are_used_in_order_then_202(fake: FakeSendGridAPI) -> None:
    # Given two failures scripted
    fake.script([500, 503])
    backend = sendgrid(fake)

    # When the same e-mail is sent three times
    outcomes: list[object] = []
    for _ in range(3):
        try:
            outcomes.append(backend.send(outgoing()).provider_message_id)
        except TransientSendError as err:
            outcomes.append(err.status)

    # Then the script is played, then the provider accepts
    assert outcomes == [500, 503, "fake-1"]
    assert [r.answered for r in fake.requests] == [500, 503, 202]


def test_fake_rejects_a_malformed_body(fake: FakeSendGridAPI) -> None:
    # Given a request without content or custom args
    request = urllib.request.Request(
        fake.url + "/v3/mail/send",
        data=json.dumps({"subject": "x"}).encode(),
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
    )

    # When it is posted, Then the fake answers 400 naming what is wrong
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 400
    assert "custom_args" in caught.value.read().decode()


def test_send_errors_survive_pickling() -> None:
    # Given a transient error with its details (Celery moves exceptions between processes)
    error = TransientSendError("SendGrid answered HTTP 429", status=429, retry_after=3.0)

    # When it is pickled and back, Then nothing is lost
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.status, copy.retry_after) == (str(error), 429, 3.0)


def test_retry_after_accepts_an_http_date_and_never_goes_negative() -> None:
    # Given a Retry-After date 20 s after "now", and a reset in the past
    now = 1_700_000_000.0
    date = "Tue, 14 Nov 2023 22:13:40 GMT"  # now + 20 s

    # Then the waits are 20 s and 0 s
    assert retry_after_seconds({"Retry-After": date}, now=now) == pytest.approx(20)
    assert retry_after_seconds({"X-RateLimit-Reset": str(now - 5)}, now=now) == 0
    assert retry_after_seconds({}, now=now) is None


@pytest.mark.parametrize(
    ("name", "kind"),
    [("file", FileBackend), ("console", ConsoleBackend), ("sendgrid", SendGridBackend)],
)
def test_backend_for_picks_the_configured_sender(name: str, kind: type, tmp_path: Path) -> None:
    # Given settings naming a backend
    settings = Settings(
        database_url="postgresql://localhost/x",
        redis_url="redis://localhost",
        email_backend=name,
        sendgrid_api_key=API_KEY,
        outbox_dir=tmp_path,
        email_timeout_s=3.0,
    )

    # When a backend is chosen, Then it is that kind, configured from the settings
    backend = backend_for(settings)
    assert isinstance(backend, kind)
    if isinstance(backend, SendGridBackend):
        assert backend.timeout_s == 3.0
        assert backend.host == "https://api.sendgrid.com"
    if isinstance(backend, FileBackend):
        assert backend.outbox_dir == tmp_path


def test_the_stand_in_answers_by_phase_then_with_a_fixed_reset_then_202(
    fake: FakeSendGridAPI,
) -> None:
    # Given a provider outage scripted by the clock: 500 now, then 429 until a fixed reset
    now = time.time()
    fake.phase(500, until=now + 0.5)
    fake.phase(Reply(429, reset_at=now + 1.0), until=now + 1.0)

    # When e-mails are sent during each phase and after the last
    with pytest.raises(TransientSendError) as first:
        sendgrid(fake).send(outgoing())
    time.sleep(max(0.0, now + 0.6 - time.time()))
    with pytest.raises(TransientSendError) as second:
        sendgrid(fake).send(outgoing())
    time.sleep(max(0.0, now + 1.1 - time.time()))
    sendgrid(fake).send(outgoing())

    # Then the answers were 500, 429 with the reset time, and 202
    assert first.value.status == 500
    assert second.value.status == 429
    assert fake.requests[1].answered == 429
    assert [r.answered for r in fake.requests] == [500, 429, 202]


def test_a_held_answer_counts_as_accepted_when_the_client_hangs_up(
    fake: FakeSendGridAPI,
) -> None:
    # Given a provider that takes the mail at once but holds its answer back
    fake.script([("hold", 30)])

    # When the client gives up before the answer comes
    with pytest.raises(TransientSendError):
        sendgrid(fake, timeout_s=0.3).send(outgoing())

    # Then the provider has the mail (the at-least-once window), and knows who sent it
    (request,) = fake.wait_for_requests(1)
    deadline = time.monotonic() + 5
    while not fake.requests[0].client_gone and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.requests[0].client_gone
    assert len(fake.accepted) == 1
    assert request.client_port > 0
