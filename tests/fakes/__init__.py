"""Stand-ins for the outer edge of the system (the mail provider), as real servers."""

from .sendgrid_api import FakeSendGridAPI, RecordedRequest, Reply

__all__ = ["FakeSendGridAPI", "RecordedRequest", "Reply"]
