"""Reads of case data through the access model, each attempt in the read-access log.

Every entry point that shows case data (the HTTP API's routers, a CLI, the future pages) asks here: the case is
loaded from the event store, the caller's relationships to it are computed (:mod:`domain.access`), and the read
is granted or refused by the rule of its kind. A refused read of a case answers exactly like a case that does
not exist (``CaseNotFound``): nobody learns from a refusal that a child has a case. Both are logged.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from domain import access
from domain.access import AccessDenied, ReadKind, Scope
from domain.access.purposes import PurposeNotAllowed, check_purpose
from domain.case import Case
from domain.values import Actor
from services.casework.application import Casework
from services.casework.errors import CaseNotFound
from services.casework.read_log import Outcome, Purpose, ReadAttempt, ReadLog

NOT_FOUND = "not_found"


class CaseReads:
    def __init__(self, app: Casework, log: ReadLog) -> None:
        self.app, self.log = app, log

    def case(self, actor: Actor, case_id: UUID, *, purpose: Purpose, resource: str = "case",
             kind: ReadKind = ReadKind.CASE, correlation_id: str | None = None) -> Case:
        """The case, if the caller may read it as ``kind``; else ``CaseNotFound``, as for a missing case."""
        rule = access.MAY_READ[kind]

        def attempt(outcome: Outcome, reason: str, jurisdiction: str | None) -> ReadAttempt:
            return ReadAttempt(actor, resource, purpose, outcome, reason, case_id, jurisdiction, correlation_id)

        try:
            case = self.app.get_case(case_id)
        except CaseNotFound:
            self.log.record([attempt(Outcome.REFUSED, NOT_FOUND, None)])
            raise
        held = access.relations_to_case(actor, case)
        if not rule.allows(held):
            reason = f"{rule.rule_id}: needs one of {', '.join(sorted(r.value for r in rule.may))}"
            self.log.record([attempt(Outcome.REFUSED, reason, case.jurisdiction.value)])
            raise CaseNotFound(case_id)
        granted = held & rule.may
        try:
            check_purpose(purpose, granted, f"the {kind.value} read", rule.may, kind)
        except AccessDenied as denied:  # it may see the case, so a 403 tells it nothing new
            self.log.record([attempt(Outcome.REFUSED, f"{denied.rule_id}: {purpose.value}", case.jurisdiction.value)])
            raise
        granted_by = ", ".join(sorted(r.value for r in granted))
        self.log.record([attempt(Outcome.GRANTED, f"{rule.rule_id}: {granted_by}", case.jurisdiction.value)])
        return case

    def scope(self, actor: Actor, kind: ReadKind, *, resource: str, purpose: Purpose,
              asked_municipality: str | None = None, correlation_id: str | None = None) -> Scope:
        """What a dashboard, audit or caseload read may show; a refusal is logged and raised (403)."""
        held = access.relations_to_scope(actor)
        try:
            scope = access.scope_for(actor, kind, held, asked_municipality)
            may = access.MAY_READ[kind].may
            check_purpose(purpose, held & may, f"the {kind.value} read", may, kind)
            return scope
        except AccessDenied as denied:
            where = None if actor.jurisdiction is None else actor.jurisdiction.value
            reason = f"{denied.rule_id}: {purpose.value}" if isinstance(denied, PurposeNotAllowed) else denied.rule_id
            self.log.record([ReadAttempt(actor, resource, purpose, Outcome.REFUSED, reason,
                                         jurisdiction=where, correlation_id=correlation_id)])
            raise

    def rows_read(self, actor: Actor, kind: ReadKind, *, resource: str, purpose: Purpose,
                  cases: Iterable[tuple[UUID | None, str | None]], correlation_id: str | None = None) -> None:
        """Row-level answers (caseload, plans due, transition watch): one granted row per case shown."""
        rule_id = access.MAY_READ[kind].rule_id
        self.log.record([ReadAttempt(actor, resource, purpose, Outcome.GRANTED, rule_id, case_id, jurisdiction,
                                     correlation_id) for case_id, jurisdiction in cases])
