""""Who is my coordinator": the public answer of seed 003, from the directory rows of the dashboard read model.

Seed 003: "All children and parents should have access to information about who is a coordinator of services
in their local environment." The answer names **institutions and roles**, never a person: the directory holds
pseudonymous person references only (names live in the vault outside the event store), and a reference published
to anyone would let it be linked across answers. So the public learns which institution's coordinator serves a
child of that age in that municipality, whether that institution has designated one, and, for a child outside the
school system, the municipality's social services. Nothing here reads a case: the answer is the same whether or
not any child of that age has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.farsaeld import COORDINATOR_INSTITUTION
from domain.values import InstitutionType, LifeStage
from projections.dashboard.queries import Cursor

ROLES: dict[InstitutionType, str] = {
    InstitutionType.HEALTH_CENTRE: "coordinator of services at the health centre (for example a midwife or an "
                                   "infant care nurse)",
    InstitutionType.PRESCHOOL: "coordinator of services at the preschool (for example a head of department or of "
                               "special education)",
    InstitutionType.PRIMARY_SCHOOL: "coordinator of services at the primary school (for example a guidance "
                                    "counsellor, head of department or developmental therapist)",
    InstitutionType.SECONDARY_SCHOOL: "coordinator of services at the upper secondary school (for example a "
                                      "guidance counsellor)",
    InstitutionType.SOCIAL_SERVICES: "coordinator of services at the municipality's social services",
}
"""The role in the seed's words (seed 003), per institution type."""


@dataclass(frozen=True)
class PublicInstitution:
    org_ref: str
    institution_type: str
    has_designated_coordinator: bool


@dataclass(frozen=True)
class CoordinatorAnswer:
    """Where a child at one life stage finds a coordinator in the municipality."""

    life_stage: str
    institution_type: str
    role: str
    institutions: tuple[PublicInstitution, ...]
    fallback: bool
    """The municipality's social services, for a child outside the school system (seed 003)."""


def institutions_of(cur: Cursor, *, municipality_ref: str, institution_type: InstitutionType, as_of: date,
                    org_ref: str | None = None) -> tuple[PublicInstitution, ...]:
    """The municipality's registered institutions of a type on ``as_of`` and whether each has a coordinator."""
    rows = cur.execute(
        "SELECT i.org_ref, i.institution_type, bool_or(d.designated_on <= %(as_of)s"
        "       AND (d.withdrawn_on IS NULL OR d.withdrawn_on > %(as_of)s))"
        " FROM dash_institution i LEFT JOIN dash_designation d USING (institution_id)"
        " WHERE i.municipality_ref = %(muni)s AND i.institution_type = %(kind)s AND i.registered_on <= %(as_of)s"
        " AND (%(org)s::text IS NULL OR i.org_ref = %(org)s) GROUP BY 1, 2 ORDER BY 1",
        {"muni": municipality_ref, "kind": institution_type.value, "as_of": as_of, "org": org_ref}).fetchall()
    return tuple(PublicInstitution(org, kind, bool(designated)) for org, kind, designated in rows)


def coordinator_lookup(cur: Cursor, *, municipality_ref: str, life_stages: frozenset[LifeStage], as_of: date,
                       org_ref: str | None = None) -> list[CoordinatorAnswer]:
    """One answer per life stage the age allows (``domain.life_stage.eligible_life_stages``), ordered as the seed
    orders them, with social services always last as the fallback. ``org_ref`` narrows the school answers to the
    child's own institution; the fallback is always the municipality's."""
    answers = []
    order = list(LifeStage)
    for stage in sorted(life_stages - {LifeStage.SOCIAL_SERVICES}, key=order.index):
        kind = COORDINATOR_INSTITUTION[stage]
        answers.append(CoordinatorAnswer(stage.value, kind.value, ROLES[kind], institutions_of(
            cur, municipality_ref=municipality_ref, institution_type=kind, as_of=as_of, org_ref=org_ref), False))
    social = InstitutionType.SOCIAL_SERVICES
    answers.append(CoordinatorAnswer(LifeStage.SOCIAL_SERVICES.value, social.value, ROLES[social], institutions_of(
        cur, municipality_ref=municipality_ref, institution_type=social, as_of=as_of), True))
    return answers
