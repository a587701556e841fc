"""Sending through SendGrid's v3 Mail Send API, with the official ``sendgrid`` client."""

from __future__ import annotations

import http.client
import urllib.error

import sendgrid
from python_http_client.exceptions import HTTPError
from sendgrid.helpers.mail import CustomArg, Header, Mail
from sendgrid.helpers.mail.exceptions import ApiKeyIncludedException

from shelfops_alerts.config.secrets import MASK, Secret, mask_urls
from shelfops_alerts.notify.email.errors import (
    PermanentSendError,
    TransientSendError,
    error_for_status,
)
from shelfops_alerts.notify.email.message import OutgoingEmail, SendResult

DEFAULT_HOST = "https://api.sendgrid.com"


class SendGridBackend:
    """Posts each e-mail to ``{host}/v3/mail/send``; SendGrid answers 202 when it accepts one.

    Every request has a timeout: a provider that stops answering fails the attempt (as a
    transient error) instead of holding an e-mail worker forever. The API key never appears
    in an error it raises, even when the provider's answer quotes it.
    """

    def __init__(
        self, api_key: str | Secret, host: str = DEFAULT_HOST, timeout_s: float = 10.0
    ) -> None:
        api_key = Secret(api_key)
        if not api_key:
            raise ValueError("SendGridBackend needs an API key")
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be greater than 0, got {timeout_s!r}")
        self.host = host.rstrip("/")
        self.timeout_s = timeout_s
        self._key = api_key
        self._api = sendgrid.SendGridAPIClient(api_key=api_key.reveal(), host=self.host)
        # python_http_client copies this onto every request it builds and hands it to urlopen;
        # left at None, urlopen would wait without limit.
        self._api.client.timeout = timeout_s

    def send(self, email: OutgoingEmail) -> SendResult:
        """Send one e-mail; raise TransientSendError or PermanentSendError when it is refused."""
        mail = _to_mail(email)
        try:
            response = self._api.send(mail)
        except HTTPError as err:
            raise error_for_status(err.status_code, self._masked(err.body), err.headers) from err
        except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
            # URLError wraps failures to connect; a timeout, reset or dropped connection while
            # waiting for the answer surfaces raw (TimeoutError, RemoteDisconnected, ...).
            reason = getattr(err, "reason", None) or err
            if isinstance(reason, TimeoutError):
                problem = f"did not answer within {self.timeout_s:g} s"
            else:
                problem = f"could not be reached ({type(reason).__name__}: {reason})"
            message = self._masked(f"SendGrid at {mask_urls(self.host)} {problem}")
            raise TransientSendError(message) from err
        if not 200 <= response.status_code < 300:
            body = self._masked(response.body)
            raise error_for_status(response.status_code, body, response.headers)
        return SendResult(provider_message_id=response.headers.get("X-Message-Id"))

    def _masked(self, text: bytes | str | None) -> str:
        """A provider's answer (or our own message) with the API key masked."""
        if text is None:
            return ""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        return text.replace(self._key.reveal(), MASK)


def _to_mail(email: OutgoingEmail) -> Mail:
    """The SendGrid request for one e-mail: both bodies, tracing headers and custom args."""
    try:
        mail = Mail(
            from_email=email.sender,
            to_emails=email.to,
            subject=email.subject,
            plain_text_content=email.text,
            html_content=email.html,
        )
    except ApiKeyIncludedException as err:  # the helper refuses bodies that look like a key
        raise PermanentSendError(f"SendGrid request could not be built: {err}") from err
    if email.headers:
        mail.header = [Header(name, value) for name, value in email.headers.items()]
    if email.custom_args:
        mail.custom_arg = [CustomArg(key, value) for key, value in email.custom_args.items()]
    return mail
