"""What every command module shares: errors, JSON output, the import-file error text."""

from __future__ import annotations

import argparse
import json
from typing import Any


class CommandError(Exception):
    """A command could not do what was asked; the message says why. Exit code 2."""


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
