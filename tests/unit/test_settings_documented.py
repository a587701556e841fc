"""Every setting is documented twice, and nowhere is one forgotten.

The variables ``load_settings`` reads, the rows of the README's "Settings" table and the
lines of ``.env.example`` are the same set; the defaults written in ``.env.example`` and in
the README are the ones ``load_settings`` applies.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shelfops_alerts.config import load_settings
from shelfops_alerts.config import settings as config_settings

ROOT = Path(__file__).resolve().parents[2]
#: The two settings without a default; every other one can be left out.
REQUIRED = {
    "SHELFOPS_DATABASE_URL": "postgresql://u@localhost/db",
    "SHELFOPS_REDIS_URL": "redis://localhost:6379/0",
}
EXAMPLE_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$")


@pytest.fixture(autouse=True)
def _empty_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def example_settings() -> dict[str, str]:
    """``NAME=default`` lines of .env.example (commented out or not) → default."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    found = {}
    for number, line in enumerate(lines):
        match = EXAMPLE_LINE.match(line)
        if not match:
            continue
        above = lines[number - 1] if number else ""
        assert above.startswith("#") and not EXAMPLE_LINE.match(above), (
            f".env.example line {number + 1}: {match[1]} needs a one-line comment above it"
        )
        found[match[1]] = match[2].strip()
    return found


def readme_settings() -> dict[str, str]:
    """Rows of the README's Settings table: variable → its default cell."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    return {
        match[1]: match[2].strip()
        for match in re.finditer(r"^\| `([A-Z][A-Z0-9_]*)` \|([^|]*)\|", section, re.MULTILINE)
    }


class _Recording(dict):
    """The gathered environment, noting every variable asked for."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.asked.add(key)
        return super().__contains__(key)


def read_by_load_settings(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    recording = _Recording(REQUIRED)
    monkeypatch.setattr(config_settings, "gather_environment", lambda environ=None: recording)
    load_settings()
    return recording.asked


def test_the_code_the_readme_and_env_example_name_the_same_settings(monkeypatch):
    # Given the three places a setting must appear
    places = {
        "read by load_settings": read_by_load_settings(monkeypatch),
        "the README settings table": set(readme_settings()),
        ".env.example": set(example_settings()),
    }
    # Then each variable is in all three, and the message says exactly where one is missing
    every = set().union(*places.values())
    gaps = [
        f"{name}: missing from {', '.join(p for p, names in places.items() if name not in names)}"
        for name in sorted(every)
        if not all(name in names for names in places.values())
    ]
    assert not gaps, "settings out of step:\n" + "\n".join(gaps)


def test_the_defaults_written_down_are_the_defaults_applied():
    defaults = load_settings(REQUIRED)
    readme = readme_settings()
    for name, value in example_settings().items():
        if not value:
            continue  # required, or a default that is not a literal (the package's templates)
        # Setting a variable to its documented default changes nothing
        assert load_settings({**REQUIRED, name: value}) == defaults, (
            f".env.example gives {name}={value}, which is not load_settings's default"
        )
        # And the README's default column says the same, where it is one literal value
        cell = readme.get(name, "")
        if re.fullmatch(r"`[^`]*`", cell):
            assert cell.strip("`") == value, (
                f"{name}: the README's default is {cell}, .env.example's is {value!r}"
            )
