"""The CLI's long output through rich: tables for lists of facts, a progress bar for long replays.

Why rich: column widths, wrapping and a live progress bar are what it does well; on a pipe or a log file it
writes plain text without colour codes (``Console`` detects a terminal), so scripted callers still read lines.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table


def stdout() -> Console:
    """The terminal's width on a terminal; wide lines on a pipe or a file (rich would assume 80 columns)."""
    return Console(file=sys.stdout, highlight=False, width=None if sys.stdout.isatty() else 240)


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]],
                console: Console | None = None) -> None:
    table = Table(title=title, title_justify="left", header_style="bold", show_lines=False)
    for index, column in enumerate(columns):
        last = index == len(columns) - 1
        table.add_column(column, overflow="fold", no_wrap=not last)
    for row in rows:
        table.add_row(*(str(value) for value in row))
    (console or stdout()).print(table)


def progress_bar(description: str) -> Callable[[int, int], None]:
    """A ``(done, total)`` callback drawing a progress bar on stderr; it closes itself at ``done >= total``."""
    progress = Progress(TextColumn(description), BarColumn(), MofNCompleteColumn(), TextColumn("events"),
                        TimeRemainingColumn(), console=Console(file=sys.stderr), transient=False)
    task: list[TaskID] = []

    def update(done: int, total: int) -> None:
        if not task:
            progress.start()
            task.append(progress.add_task(description, total=total))
        progress.update(task[0], completed=done, total=total)
        if done >= total:
            progress.stop()

    return update
