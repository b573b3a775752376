"""Protected identities and archiving in the notifications read model (pure ``apply``): no notice names a protected
subject or goes to them, the read model keeps only a digest of their reference, and an archived case's notices,
warnings and parties are deleted."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from projections.base import Statement
from projections.notifications.projection import NotificationsProjection, mask_protected, ref_digest
from tests.unit.test_audit_hashing import contract

CHILD, MUM, DAD, CM = "person:child-m-1", "person:parent-m-1", "person:parent-m-2", "person:cm-m-1"


class PartiesView:
    """The projection's own ``notif_case_parties`` row, kept between applies as the consumer's transaction would."""

    def __init__(self) -> None:
        self.state: dict[str, Any] | None = None

    def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> tuple[Any, ...] | None:
        return None if self.state is None else (self.state,)

    def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        return []

    def remembered(self, case_id: Any) -> dict[str, Any]:
        return {}  # remembers nothing: every apply reads what it needs, as in a transaction of its own

    def run(self, statements: Sequence[Statement]) -> list[Statement]:
        for statement in statements:
            if statement.sql.startswith("INSERT INTO notif_case_parties"):
                self.state = json.loads(statement.params[1])  # type: ignore[index]
        return list(statements)


def _outbox(statements: Sequence[Statement]) -> list[Sequence[Any]]:
    return [s.params for s in statements if s.sql.startswith("INSERT INTO outbox")]  # type: ignore[misc]


def test_mask_protected_replaces_whole_references_only() -> None:
    digests = frozenset({ref_digest(MUM)})
    assert mask_protected(f"{MUM}, person:parent-m-10, {DAD}", digests) == f"protected, person:parent-m-10, {DAD}"


def test_a_protected_parent_is_named_in_no_notice_and_sent_none() -> None:
    projection, view = NotificationsProjection(), PartiesView()
    view.run(projection.apply(contract("contact_registered", 1, child_ref=CHILD, parent_refs=[MUM, DAD],
                                       birth_year=2012, episode=1, coordinator_ref="person:coord-1",
                                       coordinator_org_ref="org:school-1", life_stage="primary",
                                       channel="in_person", initiated_by="provider_guidance"), view))
    masking = view.run(projection.apply(contract("identity_protected", 2, subject_ref=MUM, relation="parent"),
                                        view))
    assert any("regexp_replace" in s.sql for s in masking) and any(s.sql.startswith("DELETE FROM outbox")
                                                                   for s in masking)
    assert MUM not in json.dumps(view.state) and ref_digest(MUM) in json.dumps(view.state)
    members = [{"person_ref": ref, "org_ref": None, "member_type": "parent"} for ref in (MUM, DAD)]
    team = view.run(projection.apply(contract("support_team_established", 3, team_id="team-1", members=[
        *members, {"person_ref": CM, "org_ref": "org:social-1", "member_type": "case_manager"}]), view))
    rows = _outbox(team)
    assert rows and MUM not in {row[7] for row in rows} and DAD in {row[7] for row in rows}
    assert all(MUM not in json.dumps(list(row), default=str) for row in rows)
    assert all("protected" in row[10] for row in rows)


def test_a_protected_child_leaves_the_parties_and_an_archived_case_leaves_everything() -> None:
    projection, view = NotificationsProjection(), PartiesView()
    view.run(projection.apply(contract("contact_registered", 1, child_ref=CHILD, parent_refs=[MUM],
                                       birth_year=2012, episode=1, coordinator_ref="person:coord-1",
                                       coordinator_org_ref="org:school-1", life_stage="primary",
                                       channel="in_person", initiated_by="provider_guidance"), view))
    view.run(projection.apply(contract("identity_protected", 2, subject_ref=CHILD, relation="child"), view))
    assert view.state is not None and view.state["child_ref"] is None and view.state["birth_year"] is None
    archived = projection.apply(contract("case_archived", 3, retention_days=365, rules_version="2026-11"), view)
    assert [s.sql.split(" WHERE")[0] for s in archived] == [
        "DELETE FROM outbox", "DELETE FROM deadlines", "DELETE FROM notif_case_parties"]
