"""The benchmarks cannot rot: ``python -m bench.run --smoke`` runs every benchmark at its smoke size, against the
real servers, and writes its JSON and markdown. Checked here: the shape of what it writes (every benchmark found,
each with its figures and floor, the machine's facts), never the speed (benchmarks are not timed tests)."""

from __future__ import annotations

import json
from pathlib import Path

from bench import run as runner

EXPECTED = {"P2", "P3", "P4"}
"""This branch's benchmarks; P1, P5 and P6 come with issue-14w's scripts (found the same way when present)."""


def test_the_smoke_run_writes_every_benchmark_with_its_floor_and_the_machine_facts(tmp_path: Path) -> None:
    # The servers: PROSPERITY_PG_DSN / PROSPERITY_NATS_URL when set (as in CI), else each benchmark's embedded ones.
    report = runner.main(["--smoke", "--out", str(tmp_path)])

    written = json.loads(Path(report["files"][0]).read_text())
    markdown = Path(report["files"][1]).read_text()
    assert written["size"] == "smoke"
    machine = written["machine"]
    assert machine["cores"] >= 1 and len(machine["load_average"]) == 3 and machine["python"]
    assert machine["postgresql"] and machine["nats_server"] and "eventsourcing" in machine["packages"]
    ids = {result["id"] for result in written["results"]}
    assert ids >= EXPECTED, ids
    for result in written["results"]:
        assert result["failure"] is None, (result["id"], result["failure"])
        assert all(key in result for key in runner.REQUIRED), result
        assert isinstance(result["value"], int | float) and result["value"] > 0
        assert len(result["load_before"]) == len(result["load_after"]) == 3
        assert f"| {result['id']} |" in markdown
    for result in written["results"]:
        if result["id"] in EXPECTED:
            assert isinstance(result["floor"], int | float) and result["floor"] > 0
            assert isinstance(result["ratio"], int | float)
    assert "cores" in markdown and "load average" in markdown
