"""The coordinator directory: institutions and the coordinators each has designated.

Seed 003 says who the coordinator of services is at each life stage (health centre, preschool, primary
or secondary school, otherwise the municipality's social services); seed 004 shows a municipality
designating contact persons in every preschool and primary school. A coordinator assigned to a case is
checked against this directory, and families can ask "who is the coordinator at my child's institution"
(domain.md §1.3). Event-sourced like the case, so who was designated when is on the record.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import RuleViolation
from domain.values import Context, InstitutionType, Jurisdiction, check_ref


class Institution(Aggregate):
    """An institution that serves children and designates coordinators of services."""

    class Registered(Aggregate.Created):
        ctx: Context
        org_ref: str
        institution_type: InstitutionType
        municipality_ref: str
        jurisdiction: Jurisdiction

    @event(Registered)
    def __init__(self, ctx: Context, org_ref: str, institution_type: InstitutionType,
                 municipality_ref: str, jurisdiction: Jurisdiction) -> None:
        self.org_ref = org_ref
        self.institution_type = institution_type
        self.municipality_ref = municipality_ref
        self.jurisdiction = jurisdiction
        self.coordinators: list[str] = []

    @staticmethod
    def create_id(org_ref: str) -> UUID:
        """One directory entry per organisation reference: registering twice collides in the store."""
        return uuid5(NAMESPACE_URL, f"prosperity:/institutions/{org_ref}")

    @classmethod
    def register(cls, ctx: Context, *, org_ref: str, institution_type: InstitutionType,
                 municipality_ref: str, jurisdiction: Jurisdiction) -> Institution:
        check_ref("org_ref", org_ref, "org")
        check_ref("municipality_ref", municipality_ref, "muni")
        return cls(ctx=ctx, org_ref=org_ref, institution_type=InstitutionType(institution_type),
                   municipality_ref=municipality_ref, jurisdiction=Jurisdiction(jurisdiction))

    def is_designated(self, person_ref: str) -> bool:
        return person_ref in self.coordinators

    def designate_coordinator(self, ctx: Context, person_ref: str) -> None:
        """DIR-1: a person is designated once; designating again would say nothing new."""
        check_ref("person_ref", person_ref, "person")
        if person_ref in self.coordinators:
            raise RuleViolation("DIR-1", "The person is already a designated coordinator of this institution.",
                remedy="Nothing to do: the person is designated already.")
        self._coordinator_designated(ctx, person_ref)

    def withdraw_designation(self, ctx: Context, person_ref: str) -> None:
        """DIR-2: only a designated coordinator can stop being one."""
        if person_ref not in self.coordinators:
            raise RuleViolation("DIR-2", "The person is not a designated coordinator of this institution.",
                remedy="Name a person designated at this institution (read its coordinators).")
        self._designation_withdrawn(ctx, person_ref)

    @event("CoordinatorDesignated")
    def _coordinator_designated(self, ctx: Context, person_ref: str) -> None:
        self.coordinators.append(person_ref)

    @event("CoordinatorDesignationWithdrawn")
    def _designation_withdrawn(self, ctx: Context, person_ref: str) -> None:
        self.coordinators.remove(person_ref)
