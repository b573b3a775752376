"""Small-cell suppression and the percentile the dashboard reports, as pure functions.

The queries compute percentiles in PostgreSQL (``percentile_cont``); :func:`percentile_cont` here is the
same definition in Python, so tests can check the database against it and the edge cases are written down.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

SUPPRESSION_THRESHOLD = 5
SUPPRESSED = "<5"


def suppress(count: int, threshold: int = SUPPRESSION_THRESHOLD) -> str:
    """A count as published in national aggregates (domain.md §6 ``national_aggregate``) [I]:

    * 0 stays ``"0"``: an empty cell reveals no child;
    * 1 to ``threshold - 1`` becomes ``"<5"`` (for the default threshold of 5), so no small group of
      children can be singled out by combining a municipality, a level and an age band;
    * ``threshold`` and above is shown as it is.

    Totals are deliberately not published beside suppressed cells: a total minus the visible cells would
    give a suppressed cell back.
    """
    if count < 0:
        raise ValueError(f"a count cannot be negative: {count}")
    if threshold < 1:
        raise ValueError(f"the suppression threshold must be at least 1: {threshold}")
    if 0 < count < threshold:
        return f"<{threshold}"
    return str(count)


def percentile_cont(values: Sequence[float], fraction: float) -> float | None:
    """PostgreSQL's ``percentile_cont(fraction) WITHIN GROUP (ORDER BY value)``: linear interpolation
    between the two nearest ranks. ``None`` for no values (PostgreSQL's NULL)."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"a percentile fraction is between 0 and 1, not {fraction}")
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower, upper = math.floor(position), math.ceil(position)
    if lower == upper:
        return float(ordered[lower])
    return float(ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower))
