"""Who may make each read, in terms of the case (or of the municipality or jurisdiction the data is about).

Case data (a case now, its audit trail, a time-travel snapshot) is read only by those related to the case
(domain.md §8.3 item 3); a caller who may not see a case is answered as if it did not exist. Dashboards are
read by the municipality about itself and by the supervisor of its jurisdiction; the national agency reads
the suppressed aggregate only (§8.3 item 8). Row-level dashboard rows (plans due, transition watch, caseload)
name cases and staff: they are personal-data reads and are logged one row per case (§8.3 item 4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from domain.access.relations import Relation
from domain.access.rules import AccessDenied, AccessRule
from domain.values import Actor, Jurisdiction

R = Relation


class ReadKind(StrEnum):
    CASE = "case"
    AUDIT_CASE = "audit_case"
    CASELOAD = "caseload"
    DASHBOARD = "dashboard"
    DASHBOARD_ROWS = "dashboard_rows"
    NATIONAL = "national"
    AUDIT = "audit"
    READ_LOG = "read_log"
    DIRECTORY = "directory"
    PUBLIC_DIRECTORY = "public_directory"
    STATUS_REPORT = "status_report"
    EXPORT_LOG = "export_log"


CASE_READERS = frozenset({R.COORDINATOR, R.CASE_MANAGER, R.TEAM_MEMBER, R.TEAM_PROVIDER, R.SHARING_PROVIDER,
                          R.SHARING_RECIPIENT, R.PARENT, R.CHILD, R.DOMICILE_STAFF, R.DOMICILE_LEAD})
_MUNICIPALITY = frozenset({R.DOMICILE_LEAD, R.DOMICILE_STAFF})

MAY_READ: Mapping[ReadKind, AccessRule] = {
    ReadKind.CASE: AccessRule("ACCESS-READ-CASE", CASE_READERS, "§8.3 item 3: only while coordinator, case manager, "
                              "team member or a provider named in an active sharing request; the family (Art. 15); "
                              "the domicile municipality (the controller)"),
    ReadKind.AUDIT_CASE: AccessRule("ACCESS-READ-AUDIT-CASE", frozenset({R.SUPERVISOR}),
                                    "§1.9, §5: the supervisor of the case's jurisdiction"),
    ReadKind.CASELOAD: AccessRule("ACCESS-READ-CASELOAD", frozenset({R.OWN_CASES}),
                                  "§6 my_caseload: one's own open cases as their coordinator or case manager"),
    ReadKind.DASHBOARD: AccessRule("ACCESS-READ-DASHBOARD", _MUNICIPALITY | {R.SUPERVISOR},
                                   "§6: the municipality about itself, the supervisor about its jurisdiction"),
    ReadKind.DASHBOARD_ROWS: AccessRule("ACCESS-READ-DASHBOARD-ROWS", _MUNICIPALITY | {R.SUPERVISOR},
                                        "§6, §8.3 item 4: row-level rows name cases; logged like case reads"),
    ReadKind.NATIONAL: AccessRule("ACCESS-READ-NATIONAL", frozenset({R.NATIONAL_AGENCY, R.SUPERVISOR}),
                                  "§1.8, §8.3 item 8: de-identified, small cells suppressed, never row level"),
    ReadKind.AUDIT: AccessRule("ACCESS-READ-AUDIT", frozenset({R.SUPERVISOR}),
                               "§1.9, §5: the audit questions, for the supervisor of the jurisdiction"),
    ReadKind.READ_LOG: AccessRule("ACCESS-READ-LOG", frozenset({R.SUPERVISOR}),
                                  "§8.3 item 4: access to the log is separately permissioned"),
    ReadKind.DIRECTORY: AccessRule("ACCESS-READ-DIRECTORY", frozenset(), "§1.7: who the coordinator of an "
                                   "institution is, for everyone signed in"),
    ReadKind.PUBLIC_DIRECTORY: AccessRule(
        "ACCESS-READ-PUBLIC-DIRECTORY", frozenset(), "seed 003: all children and parents should know who the "
        "coordinator is in their local environment; institutions and roles only, no person, no case", public=True),
    ReadKind.STATUS_REPORT: AccessRule(
        "ACCESS-READ-STATUS-REPORT", frozenset({R.DOMICILE_LEAD, R.SUPERVISOR}), "§6 status_report_export (seed "
        "004): the municipality's lead about its own municipality, the supervisor about one of its jurisdiction; "
        "an export, logged with its recipient"),
    ReadKind.EXPORT_LOG: AccessRule("ACCESS-PRIV-9", frozenset({R.SUPERVISOR}), "§8.3 items 4, 6: exports are "
                                    "logged with their recipient; the log is separately permissioned"),
}
PERSONAL_DATA_READS = frozenset({ReadKind.CASE, ReadKind.AUDIT_CASE, ReadKind.CASELOAD, ReadKind.DASHBOARD_ROWS,
                                 ReadKind.READ_LOG, ReadKind.EXPORT_LOG})
"""Reads whose answers name a case or a person: each granted row and each refusal is in the read-access log."""


@dataclass(frozen=True)
class Scope:
    """What a scoped read may show: one municipality, one jurisdiction, or one person's own cases."""

    municipality_ref: str | None = None
    jurisdiction: Jurisdiction | None = None
    person_ref: str | None = None

    def admits(self, municipality_ref: str | None, jurisdiction: str | None) -> bool:
        if self.municipality_ref is not None and municipality_ref != self.municipality_ref:
            return False
        return self.jurisdiction is None or jurisdiction == self.jurisdiction.value


def scope_for(actor: Actor, kind: ReadKind, held: frozenset[Relation], asked_municipality: str | None) -> Scope:
    """The scope of a dashboard, national, audit or caseload read, or ``AccessDenied``. A municipality's
    lead or staff asking about another municipality is refused (ACCESS-SCOPE), not silently narrowed."""
    rule = MAY_READ[kind]
    if not rule.allows(held):
        raise AccessDenied(rule.rule_id, f"the {kind.value} read", rule.may, held)
    if held & _MUNICIPALITY and rule.may & _MUNICIPALITY:
        if asked_municipality is not None and asked_municipality != actor.municipality_ref:
            raise AccessDenied("ACCESS-SCOPE", f"the {kind.value} read", (), held, reason=(
                f"A municipality reads its own figures only: {actor.municipality_ref}, not {asked_municipality}."),
                remedy="Ask without municipality_ref, or with your own.")
        return Scope(municipality_ref=actor.municipality_ref)
    if held & {R.SUPERVISOR, R.NATIONAL_AGENCY}:
        return Scope(municipality_ref=asked_municipality, jurisdiction=actor.jurisdiction)
    return Scope(person_ref=actor.person_ref)
