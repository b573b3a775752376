"""The dashboard forgets (pure ``apply``): archiving drops every person reference of the case row; protecting the
child hides its reference and birth year, lifting gives the reference back (never over an archived row)."""

from __future__ import annotations

from projections.dashboard.projection import DashboardProjection
from tests.unit.test_audit_hashing import contract
from tests.unit.test_dashboard_helpers import RefusingView


def _sql(event_type: str, version: int, **fields: object) -> list[tuple[str, object]]:
    statements = DashboardProjection().apply(contract(event_type, version, **fields), RefusingView())
    return [(s.sql, s.params) for s in statements]


def test_archiving_drops_every_person_reference_of_the_case_row() -> None:
    (_, (forget, _params)) = _sql("case_archived", 9, retention_days=365, rules_version="2026-11")
    assert "child_ref = 'archived:' || case_id::text" in forget and "birth_year = NULL" in forget
    assert all(f"{column} = NULL" in forget for column in ("coordinator_ref", "case_manager_ref",
                                                           "barnekoordinator_ref"))


def test_a_protected_child_is_hidden_and_comes_back_only_on_an_unarchived_row() -> None:
    (_, (hide, _)) = _sql("identity_protected", 2, subject_ref="person:child-1", relation="child")
    assert "'protected:' || case_id::text" in hide and "NOT LIKE 'archived:%%'" in hide
    (_, (back, params)) = _sql("identity_protection_lifted", 3, subject_ref="person:child-1", relation="child")
    assert "LIKE 'protected:%%'" in back and params[0] == "person:child-1"  # type: ignore[index]
    assert _sql("identity_protected", 2, subject_ref="person:parent-1", relation="parent")[1:] == []
