"""``prosperity dashboard``: the main dashboard figures in the terminal, readable at a glance.

Reads the dashboard read model's serving generation (``ReadModelStore(...).reading()``) with the typed queries of
:mod:`projections.dashboard.queries` and :mod:`projections.dashboard.oversight`. The database is the one a running
``prosperity up`` uses (``<data>/up.json``), else ``--pg-dsn`` / ``PROSPERITY_PG_DSN``, else the embedded one.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Any

from domain.legal_settings import LegalSettings
from projections.dashboard import oversight, queries
from services.settings import StoreSettings, store_dsn


def _table(title: str, header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[str]:
    lines = [f"\n{title}"]
    if not rows:
        return [*lines, "  (none yet)"]
    cells = [tuple("-" if v is None else str(v) for v in row) for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    lines.append("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    lines += ["  " + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return lines


def _median(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def summary_lines(cur: Any, as_of: date) -> list[str]:
    """The summary as lines of text (see :func:`run`); ``cur`` from ``ReadModelStore.reading()``."""
    lines = [f"prosperity dashboard, as of {as_of.isoformat()}"]
    thresholds = queries.Thresholds.from_legal_settings(LegalSettings())
    levels: dict[str, dict[int, tuple[int, int]]] = defaultdict(dict)
    for count in queries.services_by_level(cur, as_of=as_of):
        levels[count.group][count.level] = (count.children, count.services)
    lines += _table("Services by level per municipality (children / services)", ("municipality", "level 1",
                                                                                 "level 2", "level 3"),
                    [(muni, *(f"{by[lv][0]} / {by[lv][1]}" if lv in by else "-" for lv in (1, 2, 3)))
                     for muni, by in sorted(levels.items())])
    lines += _table("Iceland funnel (cases reaching each stage)",
                    ("municipality", "contacts", "info share", "requests", "CM track", "teams", "plans", "closed"),
                    [(f.municipality_ref, f.contacts, f.information_sharing_requests, f.integration_requests,
                      f.case_manager_track, f.support_teams, f.support_plans, f.closed)
                     for f in queries.integration_funnel(cur)])
    lines += _table("Norway funnel", ("municipality", "requests", "assessed", "granted", "refused", "consented",
                                      "appointed", "ind. plans"),
                    [(f.municipality_ref, f.requests, f.assessed, f.granted, f.refused, f.consented, f.appointed,
                      f.individual_plans) for f in queries.barnekoordinator_funnel(cur)])
    lines += _table("Timeliness (median days; breaches of the threshold)",
                    ("timer", "group", "completed", "median", "threshold", "breaches", "running"),
                    [(t.timer, t.group, t.completed, _median(t.median_days), t.threshold, t.breaches, t.running)
                     for t in queries.timeliness(cur, as_of=as_of, thresholds=thresholds)])
    plans = queries.plans_due_and_overdue(cur, as_of=as_of)
    overdue = [p for p in plans if p.overdue]
    lines += _table(f"Plans due within 30 days: {len(plans) - len(overdue)}, overdue: {len(overdue)} (worst 10)",
                    ("case", "law", "municipality", "plan", "due on", "days overdue"),
                    [(p.case_id[:8], p.jurisdiction, p.municipality_ref, p.plan_kind, p.due_on, p.days_overdue)
                     for p in sorted(overdue, key=lambda p: -p.days_overdue)[:10]])
    watch = queries.transition_watch(cur, as_of=as_of)
    lines += _table(f"Transition watch: {len(watch)} young people near 18 without an adult transition plan "
                    "(first 10)", ("case", "municipality", "case manager", "age", "18 by"),
                    [(w.case_id[:8], w.municipality_ref, w.case_manager_ref, w.age_this_year, w.eighteenth_birthday_by)
                     for w in watch[:10]])
    lines += _table("Complaints by stage", ("law", "municipality", "stage", "entered", "now here", "median days"),
                    [(s.jurisdiction, s.municipality_ref, s.stage, s.entered, s.current,
                      _median(s.median_days_in_stage)) for s in oversight.complaints_by_stage(cur, as_of=as_of)])
    return lines


def run(args: argparse.Namespace) -> int:
    from services.consumers.registry import load_projection
    from services.consumers.store import ReadModelStore
    from services.up import read_state

    settings = StoreSettings()
    data_dir: Path = args.data_dir or settings.data_dir
    state = read_state(data_dir) or {}
    dsn_given = args.pg_dsn or settings.pg_dsn or state.get("pg_dsn")
    schema = settings.pg_schema or state.get("pg_schema") or "public"
    with ExitStack() as stack:
        dsn = dsn_given or stack.enter_context(store_dsn(settings))
        store = ReadModelStore(dsn, load_projection("dashboard"), base_schema=schema)
        stack.callback(store.close)
        as_of = args.as_of or date.today()
        with store.reading() as cur:
            lines = summary_lines(cur, as_of)
    print("\n".join(lines))
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-of", type=date.fromisoformat, help="the day the figures are for (default today)")
    parser.add_argument("--pg-dsn", help="the read models' database (default: the running `up`, PROSPERITY_PG_DSN)")
    parser.add_argument("--data-dir", type=Path, help="data dir of `prosperity up` (default PROSPERITY_DATA_DIR/var)")
