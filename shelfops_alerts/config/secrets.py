"""Secret values: never printed, only revealed on purpose.

A :class:`Secret` (an API key, a session secret, a token) shows itself as ``'**********'``
in every ``repr``, ``str``, f-string, ``%`` format and JSON message (kombu's encoder asks
``__json__``), so a settings object printed whole, a log line, an error message or a task
argument that holds one never carries the value. Code that needs the value calls
:meth:`Secret.reveal` — on purpose, and easy to find.

A :class:`SecretURL` (a database or Redis URL) shows everything but its password, so an
operator still sees which host and database are meant.

A new secret setting is a ``Settings`` field typed ``Secret``: it is then masked here and
in every log line (``Settings.secrets()`` registers it with the log filter).
"""

from __future__ import annotations

import hmac
import re
from typing import Any

#: What a secret shows instead of its value.
MASK = "**********"

_URL_PASSWORD = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^\s:/@]*):(?P<password>[^\s@/]+)@"
)
_SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSW|AUTH", re.IGNORECASE)
_QUERY_PASSWORD = re.compile(
    r"(?i)(?P<key>[?&;](?:password|passwd|pass|pwd)=)(?P<password>[^&#\s]*)"
)


def mask_urls(text: str) -> str:
    """``text`` with the password of every URL in it replaced by :data:`MASK`: the
    ``user:password@`` part and a ``password=`` query parameter (libpq's form)."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    return _QUERY_PASSWORD.sub(lambda m: f"{m['key']}{MASK}", text)


def mask_env_line(line: str) -> str:
    """A ``NAME=value`` line as an error message may quote it: the value of a variable whose
    name says it is secret (``…KEY``, ``…SECRET``, ``…TOKEN``, ``…PASSWORD``, ``…AUTH``)
    never shows, nor any URL's password."""
    name = re.split(r"[\s=:]", line.removeprefix("export "), maxsplit=1)[0]
    if _SECRET_NAME.search(name) and name != line.strip():
        return f"{name} {MASK}"
    return mask_urls(line)


def url_passwords(url: str) -> list[str]:
    """The passwords written in ``url`` (as written, so a log line holding them can be
    masked wherever they appear)."""
    found = [m["password"] for m in _URL_PASSWORD.finditer(url)]
    found += [m["password"] for m in _QUERY_PASSWORD.finditer(url)]
    return [value for value in found if value]


class Secret:
    """A value that shows :data:`MASK` wherever it is printed; :meth:`reveal` gives it.

    An empty secret (a setting left unset) shows ``''``: that it is missing is no secret,
    and says more than a mask would.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret = "") -> None:
        raw = value.reveal() if isinstance(value, Secret) else value
        if not isinstance(raw, str):
            raise TypeError(f"a secret is text, not {type(raw).__name__}")
        self._value = raw

    def reveal(self) -> str:
        """The value itself, for the one place that must use it (a client, a connection)."""
        return self._value

    def shown(self) -> str:
        """What the secret shows instead of its value."""
        return MASK if self._value else ""

    def concealed(self) -> list[str]:
        """The strings a log line must never carry (masked by ``logs.register_secret``)."""
        return [self._value] if self._value else []

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return repr(self.shown())

    def __str__(self) -> str:
        return self.shown()

    def __format__(self, spec: str) -> str:
        return format(self.shown(), spec)

    def __json__(self) -> str:
        # kombu's JSON encoder calls this: a secret in a task argument travels masked.
        return self.shown()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Secret)
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._value))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._value,))


class SecretURL(Secret):
    """A URL whose password is secret: it shows the URL with the password masked."""

    __slots__ = ()

    def shown(self) -> str:
        return mask_urls(self._value)

    def concealed(self) -> list[str]:
        return url_passwords(self._value)
