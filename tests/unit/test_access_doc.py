"""docs/access.md prints the access model's tables as they are in the code (``python -m services.access_doc``)."""

from __future__ import annotations

from services.access_doc import BEGIN, END, PAGE, render_tables


def test_the_documented_tables_are_the_access_model() -> None:
    text = PAGE.read_text()
    documented = text.split(BEGIN, 1)[1].split(END, 1)[0]
    assert documented == f"\n{render_tables()}", "docs/access.md is stale: run python -m services.access_doc"
