"""``shelfops-alerts tokens create|list|revoke`` and ``dashboard-url``: access to the web
service. A token is printed once, when it is created; only its hash is kept."""

from __future__ import annotations

import argparse
from typing import Any

from shelfops_alerts.cli.common import CommandError, add_json_flag, in_flags, print_json
from shelfops_alerts.config import Settings


def cmd_tokens_create(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.db import session_factory
    from shelfops_alerts.web.tokens import TokenError, create_token

    try:
        with session_factory(settings).begin() as session:
            token, row = create_token(session, customer_id=args.customer, name=args.name)
            created = {"token": token, "token_id": row.id, "customer_id": row.customer_id}
    except TokenError as exc:
        raise CommandError(in_flags(exc)) from None
    if args.json:
        print_json(created)
    else:
        print(f"token {created['token_id']} for {created['customer_id']} (shown only now):")
        print(token)
    return 0


def cmd_tokens_list(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.db import session_factory
    from shelfops_alerts.web.tokens import list_tokens, token_json

    with session_factory(settings)() as session:
        found = [token_json(t) for t in list_tokens(session, customer_id=args.customer)]
    if args.json:
        print_json(found)
        return 0
    if not found:
        print("no tokens")
        return 0
    print(f"{'ID':>5}  {'CUSTOMER':<16}  {'CREATED':<25}  {'REVOKED':<25}  NAME")
    for t in found:
        print(
            f"{t['token_id']:>5}  {t['customer_id']:<16}  {t['created_at'][:19]:<25}  "
            f"{(t['revoked_at'] or '-')[:19]:<25}  {t['name']}"
        )
    return 0


def cmd_tokens_revoke(args: argparse.Namespace, settings: Settings) -> int:
    import redis

    from shelfops_alerts.db import session_factory
    from shelfops_alerts.web.tokens import TokenError, forget_token, revoke_token, token_json

    try:
        with session_factory(settings).begin() as session:
            row = revoke_token(session, token_id=args.id)
            revoked, token_hash = token_json(row), row.token_hash
    except TokenError as exc:
        raise CommandError(in_flags(exc)) from None
    # After the commit: every web instance refuses the token from now on, not only once
    # its cached copy expires.
    forget_token(redis.Redis.from_url(settings.redis_url.reveal()), token_hash=token_hash)
    if args.json:
        print_json(revoked)
    else:
        print(f"token {args.id} revoked")
    return 0


def cmd_dashboard_url(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.db import session_factory
    from shelfops_alerts.web.sessions import create_login_link, login_url
    from shelfops_alerts.web.tokens import TokenError

    try:
        with session_factory(settings).begin() as session:
            code = create_login_link(
                session, customer_id=args.customer, ttl_s=settings.login_link_ttl_s
            )
    except TokenError as exc:
        raise CommandError(in_flags(exc)) from None
    url = login_url(settings.web_base_url, code)
    if args.json:
        print_json(
            {"url": url, "customer_id": args.customer, "expires_in_s": settings.login_link_ttl_s}
        )
    else:
        print(url)
    return 0


def register(sub: Any) -> None:
    tokens = sub.add_parser("tokens", help="API tokens of the web service").add_subparsers(
        dest="action", required=True
    )
    create = tokens.add_parser("create", help="create a token for a customer (printed once)")
    create.add_argument("--customer", required=True)
    create.add_argument("--name", help="what the token is for, e.g. forecast-job")
    add_json_flag(create)
    create.set_defaults(func=cmd_tokens_create)

    ls = tokens.add_parser("list", help="list tokens (never the tokens themselves)")
    ls.add_argument("--customer")
    add_json_flag(ls)
    ls.set_defaults(func=cmd_tokens_list)

    revoke = tokens.add_parser("revoke", help="revoke a token and end its dashboard sessions")
    revoke.add_argument("id", type=int)
    add_json_flag(revoke)
    revoke.set_defaults(func=cmd_tokens_revoke)

    url = sub.add_parser("dashboard-url", help="print a one-time login link to the dashboard")
    url.add_argument("--customer", required=True)
    add_json_flag(url)
    url.set_defaults(func=cmd_dashboard_url)
