"""The garbage collector of a long-running process, told that what it built at start-up lives for good.

Why: CPython's full (generation 2) collection walks every tracked object. A service's start-up leaves hundreds of
thousands of them (modules, pydantic schemas and validators, FastAPI's routes and dependency graphs, the access
model's tables) that live until the process ends, and each full collection walked them all again in the middle of a
request: the HTTP commands' p99 fell from 140 ms to 75 ms at the same throughput when they were frozen (issue 14,
bench/http_commands.py). ``gc.freeze`` (Python 3.7+) moves them to the permanent generation; the collector keeps
collecting everything made later (requests, cached aggregates) as before.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collect once, then exempt every object alive now from later collections (call once start-up is done)."""
    gc.collect()
    gc.freeze()
