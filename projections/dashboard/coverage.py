"""Coverage as a percentage per institution type (seed 004; domain.md §6 ``coordinator_coverage``).

Reykjavík's milestone (Oct 2022) was "designated contact persons in every municipal preschool and primary school,
and case managers at the City's centres". So coverage is measured two ways:

* **coordinators**: of the municipality's registered institutions of each type, how many had a designated
  coordinator of services on the day;
* **case managers at the centres**: the centres are the municipality's social-services units, the units case
  managers are appointed from (``case_manager_appointed.org_unit_ref``). A centre counts once it has had a case
  manager appointed by the day. The centres are the registered social-services institutions **and** every unit a
  case manager of the municipality was appointed from, registered or not: an unregistered centre is part of the
  picture (``unregistered``), not left out of it.

Same conventions as :mod:`projections.dashboard.oversight`: a cursor from ``store.reading()``, ``as_of`` inclusive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from projections.dashboard.queries import Cursor


@dataclass(frozen=True)
class TypeCoverage:
    municipality_ref: str
    institution_type: str
    role: Literal["coordinator", "case_manager"]
    institutions: int
    """Institutions of the type (for case managers: the centres, registered or not)."""
    covered: int
    percentage: float | None
    """``100 * covered / institutions``, one decimal; None when there is no institution of the type."""
    unregistered: int
    """Of ``institutions``, those not in the coordinator directory (only centres can be)."""


_COORDINATORS = """
SELECT i.municipality_ref, i.institution_type, count(*),
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM dash_designation d WHERE d.institution_id = i.institution_id
                        AND d.designated_on <= %(as_of)s AND (d.withdrawn_on IS NULL OR d.withdrawn_on > %(as_of)s)))
FROM dash_institution i
WHERE i.registered_on <= %(as_of)s AND (%(muni)s::text IS NULL OR i.municipality_ref = %(muni)s)
GROUP BY 1, 2 ORDER BY 1, 2"""

_CENTRES = """
WITH centres AS (
    SELECT municipality_ref, org_ref, true AS registered FROM dash_institution
    WHERE institution_type = 'social_services' AND registered_on <= %(as_of)s
    UNION
    SELECT c.municipality_ref, c.case_manager_org_ref, false FROM dash_case c
    WHERE c.case_manager_org_ref IS NOT NULL AND c.case_manager_appointed_on <= %(as_of)s
      AND NOT EXISTS (SELECT 1 FROM dash_institution i WHERE i.org_ref = c.case_manager_org_ref)
), staffed AS (
    SELECT DISTINCT municipality_ref, case_manager_org_ref AS org_ref FROM dash_case
    WHERE case_manager_org_ref IS NOT NULL AND case_manager_appointed_on <= %(as_of)s
)
SELECT k.municipality_ref, count(*), count(s.org_ref), count(*) FILTER (WHERE NOT k.registered)
FROM centres k LEFT JOIN staffed s USING (municipality_ref, org_ref)
WHERE (%(muni)s::text IS NULL OR k.municipality_ref = %(muni)s)
GROUP BY 1 ORDER BY 1"""


def _percentage(covered: int, institutions: int) -> float | None:
    return round(100 * covered / institutions, 1) if institutions else None


def coverage_by_type(cur: Cursor, *, as_of: date, municipality_ref: str | None = None) -> list[TypeCoverage]:
    """Per municipality and institution type: coordinators designated; per municipality: case managers at the
    centres. A case manager's unit is the case's current one (the dashboard keeps the current state)."""
    params = {"as_of": as_of, "muni": municipality_ref}
    rows = [TypeCoverage(muni, kind, "coordinator", total, covered, _percentage(covered, total), 0)
            for muni, kind, total, covered in cur.execute(_COORDINATORS, params).fetchall()]
    rows += [TypeCoverage(muni, "social_services", "case_manager", total, covered, _percentage(covered, total),
                          unregistered)
             for muni, total, covered, unregistered in cur.execute(_CENTRES, params).fetchall()]
    return sorted(rows, key=lambda row: (row.municipality_ref, row.institution_type, row.role))
