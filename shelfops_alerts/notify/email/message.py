"""What a sender is handed (:class:`OutgoingEmail`) and what it hands back (:class:`SendResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from shelfops_alerts.notify.email.render import RenderedEmail

#: Header naming the alert an e-mail is about, so a reply or a bounce can be traced back.
ALERT_ID_HEADER = "X-ShelfOps-Alert-Id"
#: Header naming the ``email_deliveries`` row that produced the e-mail.
DELIVERY_ID_HEADER = "X-ShelfOps-Delivery-Id"
#: Header naming the ``email_digests`` row of a digest e-mail.
DIGEST_ID_HEADER = "X-ShelfOps-Digest-Id"


@dataclass(frozen=True)
class SendResult:
    """A provider accepted a message; its id (when it gives one) for tracing."""

    provider_message_id: str | None


@dataclass(frozen=True)
class OutgoingEmail:
    """One rendered e-mail to one recipient, with tracing headers and SendGrid custom args.

    Raises ValueError when an address, the subject or a header carries CR or LF: such a value
    could smuggle extra headers (``Bcc:``) into the message.
    """

    to: str
    sender: str
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)
    custom_args: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        single_line = {"to": self.to, "sender": self.sender, "subject": self.subject}
        for name, value in self.headers.items():
            single_line[f"header name {name!r}"] = name
            single_line[f"header {name}"] = value
        for what, value in single_line.items():
            if "\r" in value or "\n" in value:
                raise ValueError(f"{what} must be a single line, got {value!r}")
        if "@" not in self.to or "@" not in self.sender:
            raise ValueError(
                f"to and sender must be e-mail addresses, got {self.to!r}, {self.sender!r}"
            )

    @property
    def delivery_id(self) -> str | None:
        """The delivery (or ``digest-<id>``) this e-mail belongs to, when it was built for one."""
        digest = self.custom_args.get("digest_id")
        return self.custom_args.get("delivery_id") or (digest and f"digest-{digest}")


def build_outgoing(
    rendered: RenderedEmail,
    *,
    to: str,
    sender: str,
    alert_id: int,
    delivery_id: int | None = None,
) -> OutgoingEmail:
    """Address a rendered alert e-mail, tagging it with the alert (and delivery) ids."""
    headers = {ALERT_ID_HEADER: str(alert_id)}
    custom_args = {"alert_id": str(alert_id)}
    if delivery_id is not None:
        headers[DELIVERY_ID_HEADER] = str(delivery_id)
        custom_args["delivery_id"] = str(delivery_id)
    return OutgoingEmail(
        to=to,
        sender=sender,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        headers=headers,
        custom_args=custom_args,
    )


def build_digest_outgoing(
    rendered: RenderedEmail,
    *,
    to: str,
    sender: str,
    digest_id: int,
    customer_id: str,
    alert_count: int,
) -> OutgoingEmail:
    """Address a rendered digest, tagging it with the digest id (its deliveries point to it)."""
    return OutgoingEmail(
        to=to,
        sender=sender,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        headers={DIGEST_ID_HEADER: str(digest_id)},
        custom_args={
            "digest_id": str(digest_id),
            "customer_id": customer_id,
            "alert_count": str(alert_count),
        },
    )


def new_message_id(sender: str) -> str:
    """A fresh RFC 5322 Message-ID in the sender's domain.

    The domain is given explicitly because ``make_msgid``'s default looks up the host's FQDN,
    which can stall for seconds on a machine with slow DNS.
    """
    domain = parseaddr(sender)[1].rpartition("@")[2] or "shelfops.invalid"
    return make_msgid(domain=domain)


def to_mime(email: OutgoingEmail, *, message_id: str) -> EmailMessage:
    """The e-mail as an RFC 5322 multipart/alternative message (plain text, then HTML)."""
    message = EmailMessage()
    message["From"] = email.sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    for name, value in email.headers.items():
        message[name] = value
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message
