"""``prosperity report status`` and ``prosperity audit <question>``: the status report and the audit questions from
the command line, as a client of the HTTP API.

A client rather than a reader of the database, so the CLI gets exactly the API's answer through the access model:
the caller is the bearer token (``--token``, else ``PROSPERITY_TOKEN``; ``prosperity token`` mints one in
development), a lead gets its own municipality's report and a supervisor one of its jurisdiction
(ACCESS-READ-STATUS-REPORT), the audit questions are the supervisor's (ACCESS-READ-AUDIT), and every answer is in
the read-access log with its recipient. The API is ``--api``, else ``PROSPERITY_API_URL``, else
``http://127.0.0.1:8000`` (where ``prosperity up`` serves it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import httpx

DEFAULT_API = "http://127.0.0.1:8000"
AUDIT_QUESTIONS = {
    "processing-without-basis": "/v1/audit/processing-without-basis",
    "no-decision-lead-times": "/v1/audit/no-decision-lead-times",
    "daily-digests": "/v1/audit/daily-digests",
}


def _client_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api", help=f"the API's base URL (default PROSPERITY_API_URL or {DEFAULT_API})")
    parser.add_argument("--token", help="the caller's bearer token (default PROSPERITY_TOKEN)")


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``report status``: one line in ``services.cli.build_parser``."""
    report = sub.add_parser("report", help="reports from the read models, through the API's access model")
    report_sub = report.add_subparsers(dest="report_command", required=True)
    status = report_sub.add_parser("status", help="the half-yearly status report of a municipality (seed 004)")
    status.add_argument("--year", type=int, required=True, help="the year, e.g. 2025")
    status.add_argument("--half", type=int, choices=(1, 2), required=True, help="1: Jan-Jun, 2: Jul-Dec")
    status.add_argument("--municipality", help="muni:… (a lead's own when left out; a supervisor names one)")
    status.add_argument("--recipient", help="who the report is for, org:… or muni:… (logged)")
    shape = status.add_mutually_exclusive_group()
    shape.add_argument("--csv", action="store_true", help="CSV, one figure a row")
    shape.add_argument("--text", action="store_true", help="the Reykjavík-style paragraphs")
    _client_arguments(status)
    status.set_defaults(func=status_command)


def add_audit_parsers(audit_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``audit processing-without-basis | no-decision-lead-times | daily-digests`` (the supervisor's)."""
    for name in AUDIT_QUESTIONS:
        question = audit_sub.add_parser(name, help=f"GET {AUDIT_QUESTIONS[name]} as the token's supervisor")
        if name == "daily-digests":
            question.add_argument("--since", type=date.fromisoformat, help="first UTC day (inclusive)")
            question.add_argument("--until", type=date.fromisoformat, help="last UTC day (inclusive)")
        _client_arguments(question)
        question.set_defaults(func=audit_command, question=name)


def _get(args: argparse.Namespace, path: str, params: dict[str, Any], headers: dict[str, str] | None = None,
         client: httpx.Client | None = None) -> httpx.Response | None:
    token = args.token or os.environ.get("PROSPERITY_TOKEN")
    if not token:
        print("prosperity: a bearer token is needed (--token or PROSPERITY_TOKEN; `prosperity token` mints one)",
              file=sys.stderr)
        return None
    base = args.api or os.environ.get("PROSPERITY_API_URL") or DEFAULT_API
    with httpx.Client(timeout=60) if client is None else _borrowed(client) as http:
        response = http.get(base.rstrip("/") + path, params={k: v for k, v in params.items() if v is not None},
                            headers={"Authorization": f"Bearer {token}", **(headers or {})})
    if response.status_code != 200:
        print(f"prosperity: {response.status_code} {response.text}", file=sys.stderr)
        return None
    return response


@contextmanager
def _borrowed(client: httpx.Client) -> Iterator[httpx.Client]:
    """A client the caller owns (a test's ``TestClient``): used, not closed."""
    yield client


def status_command(args: argparse.Namespace, client: httpx.Client | None = None) -> int:
    shape = "csv" if args.csv else "text" if args.text else "json"
    response = _get(args, "/v1/reports/status", {"year": args.year, "half": args.half,
                                                 "municipality_ref": args.municipality, "format": shape},
                    {"X-Recipient": args.recipient} if args.recipient else None, client)
    if response is None:
        return 1
    sys.stdout.write(response.text if shape != "json" else json.dumps(response.json(), indent=2) + "\n")
    return 0


def audit_command(args: argparse.Namespace, client: httpx.Client | None = None) -> int:
    params = {"since": getattr(args, "since", None), "until": getattr(args, "until", None)}
    response = _get(args, AUDIT_QUESTIONS[args.question], {k: v and v.isoformat() for k, v in params.items()},
                    None, client)
    if response is None:
        return 1
    sys.stdout.write(json.dumps(response.json(), indent=2) + "\n")
    return 0
