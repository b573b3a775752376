"""The checked-in JSON Schemas and AsyncAPI document are exactly what the code generates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.events import EVENT_MODELS
from contracts.generate import ASYNCAPI_PATH, SCHEMAS_DIR, generated_files, schema_filename, stale_schema_files

ROOT = Path(__file__).resolve().parents[2]
FIX = "The checked-in contract documents differ from the code: run `python -m contracts.generate` and commit."


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return {str(path.relative_to(ROOT)): text for path, text in generated_files().items()}


def test_every_generated_file_is_checked_in_unchanged(generated: dict[str, str]) -> None:
    missing = [name for name in generated if not (ROOT / name).exists()]
    assert not missing, f"{FIX} Missing: {missing}"
    changed = [name for name, text in generated.items() if (ROOT / name).read_text(encoding="utf-8") != text]
    assert not changed, f"{FIX} Changed: {changed}"


def test_no_stale_schema_is_checked_in() -> None:
    stale = stale_schema_files(generated_files())
    assert not stale, f"{FIX} Stale: {[p.name for p in stale]}"


def test_one_schema_per_event_type_and_one_channel_each() -> None:
    assert sorted(p.name for p in SCHEMAS_DIR.glob("*.json")) == sorted(schema_filename(t) for t in EVENT_MODELS)
    document = json.loads(ASYNCAPI_PATH.read_text(encoding="utf-8"))
    assert document["asyncapi"] == "3.0.0"
    assert set(document["channels"]) == set(EVENT_MODELS)
    assert document["channels"]["complaint_lodged"]["address"] == "cases.v1.*.*.complaint_lodged"
