"""``shelfops-alerts dead-letters list|show|replay|discard``: messages that killed workers."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from shelfops_alerts.cli.common import CommandError, add_json_flag, in_flags, print_json
from shelfops_alerts.cli.table import print_table
from shelfops_alerts.config import Settings
from shelfops_alerts.vocabulary import PARKED

#: Characters of a message's arguments shown in ``list`` (``show`` prints them all).
ARGS_PREVIEW = 60
#: What ``show`` prints before the message itself (the fields that are set).
SHOWN = (
    "id",
    "status",
    "task_name",
    "task_id",
    "queue",
    "reason",
    "deliveries",
    "first_seen_at",
    "last_seen_at",
    "replayed_at",
    "replayed_by",
    "replay_task_id",
    "discarded_at",
    "discarded_by",
    "discard_reason",
)


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.db import session_factory
    from shelfops_alerts.dead_letters.store import list_dead_letters

    with session_factory(settings)() as session:
        found = list_dead_letters(session, status=None if args.all else PARKED, limit=args.limit)
    if args.json:
        print_json(found)
        return 0
    if not found:
        print("no dead letters" if args.all else "no parked dead letters")
        return 0
    print_table(
        ("ID", "STATUS", "TASK", "DELIVERIES", "FIRST SEEN", "LAST SEEN", "ARGUMENTS"),
        [
            (
                d["id"],
                d["status"],
                d["task_name"],
                d["deliveries"],
                d["first_seen_at"],
                d["last_seen_at"],
                _preview(d),
            )
            for d in found
        ],
        right={"ID", "DELIVERIES"},
    )
    return 0


def _preview(dead_letter: dict[str, Any]) -> str:
    text = json.dumps(dead_letter["args"])
    if dead_letter["kwargs"]:
        text += " " + json.dumps(dead_letter["kwargs"])
    return text if len(text) <= ARGS_PREVIEW else text[: ARGS_PREVIEW - 1] + "…"


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.db import session_factory
    from shelfops_alerts.dead_letters.store import get_dead_letter

    with session_factory(settings)() as session:
        found = get_dead_letter(session, dead_letter_id=args.id)
    if found is None:
        raise CommandError(f"no dead letter {args.id}")
    if args.json:
        print_json(found)
        return 0
    for key in SHOWN:
        if found[key] is not None:
            print(f"{key + ':':<16} {found[key]}")
    for key in ("args", "kwargs", "options"):
        print(f"{key + ':':<16} {json.dumps(found[key], indent=2, sort_keys=True)}")
    return 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.db import session_factory
    from shelfops_alerts.dead_letters.requeue import sender
    from shelfops_alerts.dead_letters.store import DeadLetterError, replay

    send = sender(settings)
    replayed: dict[int, str] = {}
    refused: dict[int, str] = {}
    for dead_letter_id in dict.fromkeys(args.ids):
        # One transaction each: one refusal does not hold back the others.
        try:
            with session_factory(settings).begin() as session:
                replayed[dead_letter_id] = replay(
                    session, dead_letter_id=dead_letter_id, by=args.by, send=send
                )
        except DeadLetterError as exc:
            refused[dead_letter_id] = in_flags(exc)
    if args.json:
        print_json({"replayed": replayed, "refused": refused})
    else:
        for dead_letter_id, task_id in replayed.items():
            print(f"dead letter {dead_letter_id} queued again as task {task_id}")
        for reason in refused.values():
            print(f"error: {reason}", file=sys.stderr)
    return 2 if refused else 0


def cmd_discard(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.db import session_factory
    from shelfops_alerts.dead_letters.store import discard

    with session_factory(settings).begin() as session:
        discard(session, dead_letter_id=args.id, by=args.by, reason=args.reason)
    if args.json:
        print_json({"discarded": args.id})
    else:
        print(f"dead letter {args.id} discarded")
    return 0


def register(sub: Any) -> None:
    dead = sub.add_parser(
        "dead-letters", help="messages parked after their worker died on them: list, replay"
    ).add_subparsers(dest="action", required=True)
    ls = dead.add_parser("list", help="parked dead letters, newest first")
    ls.add_argument("--all", action="store_true", help="also those replayed or discarded")
    ls.add_argument("--limit", type=int, default=100)
    add_json_flag(ls)
    ls.set_defaults(func=cmd_list)
    show = dead.add_parser("show", help="one dead letter, with its whole message")
    show.add_argument("id", type=int, metavar="ID")
    add_json_flag(show)
    show.set_defaults(func=cmd_show)
    replay = dead.add_parser(
        "replay", help="queue parked messages again (fresh task ids), once their cause is fixed"
    )
    replay.add_argument("ids", type=int, nargs="+", metavar="ID")
    replay.add_argument("--by", required=True, help="who replays them (recorded)")
    add_json_flag(replay)
    replay.set_defaults(func=cmd_replay)
    discard = dead.add_parser("discard", help="put a parked message aside for good")
    discard.add_argument("id", type=int, metavar="ID")
    discard.add_argument("--by", required=True, help="who discards it (recorded)")
    discard.add_argument("--reason", required=True, help="why (recorded)")
    add_json_flag(discard)
    discard.set_defaults(func=cmd_discard)
