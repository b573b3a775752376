"""Write the checked-in contract documents from the code: ``python -m contracts.generate``.

* ``contracts/schemas/<event_type>.v1.json``: one JSON Schema (Draft 2020-12) per published event type,
  from its pydantic model;
* ``contracts/asyncapi.json``: an AsyncAPI 3.0 document made by faststream's generator from a NATS broker
  that declares one publisher per event type (``schema=`` its model).

``tests/unit/test_contracts_drift.py`` fails when these files differ from what this module generates.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from faststream.nats import JStream, NatsBroker
from faststream.specification import AsyncAPI

from contracts.events import DIRECTORY_EVENT_TYPES, EVENT_MODELS, SCHEMA_VERSION
from contracts.subjects import CASES_PREFIX, DIRECTORY_PREFIX, STREAM_NAME, event_type_filter

CONTRACTS_DIR = Path(__file__).resolve().parent
SCHEMAS_DIR = CONTRACTS_DIR / "schemas"
ASYNCAPI_PATH = CONTRACTS_DIR / "asyncapi.json"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ASYNCAPI_DESCRIPTION = (
    "Every fact recorded on a child's case in prosperity, published on NATS JetStream (stream "
    f"`{STREAM_NAME}`). Subjects: `{CASES_PREFIX}.<jurisdiction>.<municipality>.<event_type>` for case "
    f"facts and `{DIRECTORY_PREFIX}.<jurisdiction>.<municipality>.<event_type>` for the coordinator "
    "directory; each channel below is one event type, addressed with wildcards for jurisdiction "
    "(`is`, `no`) and municipality (the `muni:` reference's token). Headers: `Nats-Msg-Id` "
    "(`<application>:<notification id>`, the de-duplication key), `Prosperity-Event-Type`, "
    "`Prosperity-Schema`, `Prosperity-Correlation-Id`. Payloads carry pseudonymous references only."
)


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def schema_filename(event_type: str) -> str:
    return f"{event_type}.{SCHEMA_VERSION}.json"


def json_schemas() -> dict[str, str]:
    """File name → content of each event type's JSON Schema."""
    files: dict[str, str] = {}
    for event_type, model in sorted(EVENT_MODELS.items()):
        schema = model.model_json_schema()
        document = {"$schema": JSON_SCHEMA_DIALECT,
                    "$id": f"urn:prosperity:events:{event_type}:{SCHEMA_VERSION}", **schema}
        files[schema_filename(event_type)] = _dump(document)
    return files


def asyncapi_broker() -> NatsBroker:
    """A NATS broker that only declares the published channels, for the AsyncAPI generator (never started)."""
    broker = NatsBroker("nats://localhost:4222", description="NATS JetStream of prosperity")
    stream = JStream(STREAM_NAME, declare=False)
    for event_type, model in sorted(EVENT_MODELS.items()):
        prefix = DIRECTORY_PREFIX if event_type in DIRECTORY_EVENT_TYPES else CASES_PREFIX
        description = (f"`{prefix}.<jurisdiction>.<municipality>.{event_type}`: "
                       f"{(model.__doc__ or '').strip()}")
        broker.publisher(event_type_filter(event_type), stream=stream, schema=model, title=event_type,
                         description=" ".join(description.split()))
    return broker


def asyncapi_document() -> str:
    specification = AsyncAPI(asyncapi_broker(), title="prosperity case events", version=SCHEMA_VERSION,
                             description=ASYNCAPI_DESCRIPTION, schema_version="3.0.0")
    document: dict[str, Any] = specification.to_specification().to_jsonable()
    # faststream's order of channels and components varies between runs; sort them so the file is stable.
    for key in ("channels", "operations"):
        document[key] = dict(sorted(document.get(key, {}).items()))
    components = document.get("components", {})
    for key in list(components):
        components[key] = dict(sorted(components[key].items()))
    return _dump(document)


def generated_files() -> dict[Path, str]:
    """Every generated file's path → its content, as ``main`` writes them."""
    files = {SCHEMAS_DIR / name: text for name, text in json_schemas().items()}
    files[ASYNCAPI_PATH] = asyncapi_document()
    return files


def stale_schema_files(files: dict[Path, str]) -> list[Path]:
    """Schema files on disk that no event type generates any more."""
    return sorted(p for p in SCHEMAS_DIR.glob("*.json") if p not in files) if SCHEMAS_DIR.exists() else []


def main() -> int:
    files = generated_files()
    SCHEMAS_DIR.mkdir(exist_ok=True)
    for stale in stale_schema_files(files):
        stale.unlink()
        print(f"removed {stale.relative_to(CONTRACTS_DIR.parent)}")
    changed = 0
    for path, text in files.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed += 1
            print(f"wrote {path.relative_to(CONTRACTS_DIR.parent)}")
    print(f"{len(files)} contract documents, {changed} changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
