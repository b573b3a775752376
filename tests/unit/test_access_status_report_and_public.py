"""ACCESS-READ-STATUS-REPORT and ACCESS-READ-PUBLIC-DIRECTORY (issue 12): who may have a municipality's status
report, and the one read answered without signing in."""

from __future__ import annotations

import pytest

from domain import access
from domain.access import AccessDenied, ReadKind, Scope
from domain.values import Actor, Jurisdiction, Role

LEAD = Actor("person:lead-rvk", Role.MUNICIPALITY_LEAD, "org:town-hall-rvk", "muni:reykjavik")
STAFF = Actor("person:staff-rvk", Role.MUNICIPAL_STAFF, "org:social-rvk", "muni:reykjavik")
GEV = Actor("person:gev-1", Role.SUPERVISOR, "org:gev", jurisdiction=Jurisdiction.ICELAND)


def scope(actor: Actor, asked: str | None = None) -> Scope:
    return access.scope_for(actor, ReadKind.STATUS_REPORT, access.relations_to_scope(actor), asked)


def test_the_lead_has_the_report_of_its_own_municipality_only() -> None:
    assert scope(LEAD) == Scope(municipality_ref="muni:reykjavik")
    with pytest.raises(AccessDenied) as refusal:
        scope(LEAD, "muni:kopavogur")
    assert refusal.value.rule_id == "ACCESS-SCOPE"


@pytest.mark.parametrize("actor", [STAFF, Actor("person:coord-1", Role.COORDINATOR, "org:school-1"),
                                   Actor("person:bofs-1", Role.NATIONAL_AGENCY, "org:bofs",
                                         jurisdiction=Jurisdiction.ICELAND),
                                   Actor("person:parent-1", Role.PARENT)])
def test_staff_caseworkers_the_national_agency_and_families_are_refused_the_report(actor: Actor) -> None:
    with pytest.raises(AccessDenied) as refusal:
        scope(actor)
    assert refusal.value.rule_id == "ACCESS-READ-STATUS-REPORT"


def test_the_supervisor_has_a_named_municipality_of_its_jurisdiction() -> None:
    assert scope(GEV, "muni:reykjavik") == Scope(municipality_ref="muni:reykjavik", jurisdiction=Jurisdiction.ICELAND)


def test_the_public_directory_is_the_only_read_answered_without_signing_in() -> None:
    public = [kind for kind, rule in access.MAY_READ.items() if rule.public]
    assert public == [ReadKind.PUBLIC_DIRECTORY]
    assert access.MAY_READ[ReadKind.PUBLIC_DIRECTORY].may == frozenset()
    assert ReadKind.PUBLIC_DIRECTORY not in access.PERSONAL_DATA_READS
