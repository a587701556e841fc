"""What every command module shares: errors, JSON output, the flags the core's fields map to."""

from __future__ import annotations

import argparse
import json
from typing import Any

#: The core names an input at fault by its field (``LifecycleError.field``); a command
#: names it by the flag that sets it.
FLAGS = {
    "actor": "--by",
    "created_by": "--by",
    "customer_id": "--customer",
    "store_id": "--store",
    "product_id": "--product",
    "alert_type": "--type",
    "severity": "--severity",
    "status": "--status",
    "outcome": "--outcome",
    "reason": "--reason",
    "name": "--name",
    "until": "--until",
}


class CommandError(Exception):
    """A command could not do what was asked; the message says why. Exit code 2."""


def in_flags(error: Exception) -> str:
    """The core's message, with the input at fault named by its flag (``--until must ...``)."""
    message = str(error)
    field = getattr(error, "field", None)
    if field in FLAGS and message.startswith(f"{field} "):
        return FLAGS[field] + message[len(field) :]
    return message


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
