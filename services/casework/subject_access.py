"""Subject access (GDPR Art. 15): everything a case holds about one of its data subjects, from the events and the
vault, with other people's data redacted; produced only for an authorised request, and recorded three times.

What an export holds (``document``, also rendered as a readable HTML page):

* ``facts``: every fact of the case, as its public contract (``contracts.mapping``) without the store's machinery
  (notification ids, correlation ids), in version order;
* ``personal_data`` and ``documents``: what the vault keeps under the subject's own key (names, contact details;
  for the child also the case's documents), decrypted for this export only;
* ``redactions``: how many references were replaced, and why.

Redaction (Art. 15(4), domain.md §8.3 item 5; the lists are [I], for legal review): other members of the family
(the other parent; the child's parents in the child's own export) appear as ``redacted:third_party``; **staff
notes** (minutes, handover notes, the information a provider shared, progress notes, justifications of necessity)
as ``withheld:staff_note``; in a parent's export, the child's own views too (``withheld:child_views``: whether a
child's confidential disclosures may be given to parents is unknown, so they are not). Staff are named by
reference: they act in their official capacity, and the subject is entitled to know who processed their data.

Recorded: the ``subject_access_exported`` fact on the case (with the SHA-256 of the exact bytes handed over), a
granted row in the read-access log, and a row in the export log with its recipient. A refusal stores no fact and
leaves a refused row in the read-access log.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from jinja2 import Environment, FileSystemLoader, select_autoescape

from contracts import commands as c
from contracts.mapping import to_contract
from domain import access, personal_data
from domain.access import personal_data as rights
from domain.case import Case
from domain.personal_data import ExportFormat
from domain.values import Actor
from services.casework.application import Casework, CommandMeta, CommandResult
from services.casework.errors import CaseNotFound
from services.casework.export_log import ExportLog, content_digest, record_export
from services.casework.read_log import Outcome, Purpose, ReadAttempt, ReadLog

THIRD_PARTY = "redacted:third_party"
STAFF_NOTE = "withheld:staff_note"
CHILD_VIEWS = "withheld:child_views"
STAFF_NOTE_FIELDS = frozenset({"minutes_doc_ref", "handover_note_doc_ref", "summary_doc_ref", "progress_doc_ref",
                               "necessity_justification_ref"})
"""Fields whose document is a professional's note about the family ([I], for legal review)."""
CHILD_VIEWS_FIELDS = frozenset({"child_views_doc_ref"})
DROPPED = frozenset({"notification_id", "event_id", "correlation_id", "causation_id", "schema_version"})
TEMPLATES = Path(__file__).with_name("templates")
_HTML = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


class SubjectRecords(Protocol):
    """What the export needs of the vault (``services.vault.Vault`` has it): a subject's decrypted fields and
    document list, and a document's content."""

    def record(self, subject_ref: str) -> Any: ...

    def document(self, doc_ref: str) -> Any: ...


@dataclass(frozen=True)
class SubjectAccessExport:
    document: dict[str, Any]
    content: bytes
    """The exact bytes handed over (JSON or HTML): their SHA-256 is in the fact and in the export log."""
    media_type: str
    content_sha256: str
    result: CommandResult


class _Redactor:
    def __init__(self, case: Case, subject_ref: str) -> None:
        family = {case.child_ref, *case.parent_refs}
        visible = {subject_ref} | ({case.child_ref} if subject_ref in case.parent_refs else set())
        self.hidden = family - visible
        self.withheld_fields = STAFF_NOTE_FIELDS | (CHILD_VIEWS_FIELDS if subject_ref != case.child_ref else set())
        self.counts = {"third_party": 0, "staff_note": 0, "child_views": 0}
        self.withheld_docs: set[str] = set()

    def value(self, key: str | None, value: Any) -> Any:
        if key in self.withheld_fields and value is not None:
            kind = "child_views" if key in CHILD_VIEWS_FIELDS else "staff_note"
            self.counts[kind] += 1
            self.withheld_docs.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
            return CHILD_VIEWS if kind == "child_views" else STAFF_NOTE
        if isinstance(value, dict):
            return {k: self.value(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(None, v) for v in value]
        if isinstance(value, str) and value in self.hidden:
            self.counts["third_party"] += 1
            return THIRD_PARTY
        return value


def _facts(app: Casework, case: Case, redactor: _Redactor) -> list[dict[str, Any]]:
    facts, municipality = [], None
    for event in app.events.get(case.id, lte=case.version):
        contract = to_contract(event, event.originator_version, municipality, jurisdiction=case.jurisdiction.value)
        municipality = contract.municipality_ref
        data = {k: v for k, v in contract.model_dump(mode="json").items() if k not in DROPPED}
        facts.append(redactor.value(None, data))
    return facts


def _vault_part(vault: SubjectRecords | None, case: Case, subject_ref: str,
                redactor: _Redactor) -> dict[str, Any]:
    if vault is None:
        return {"available": False, "personal_data": {}, "documents": []}
    record = vault.record(subject_ref)
    documents = []
    for info in record.documents:
        # This case's own documents only: an export is asked through a case, and a case names its family in the
        # command that opened it (docs/privacy.md, "Personal data per case").
        if info.case_id != case.id or info.doc_ref in redactor.withheld_docs:
            continue
        entry: dict[str, Any] = {"doc_ref": info.doc_ref, "media_type": info.media_type, "size_bytes": info.size}
        if info.media_type.startswith("text/") or info.media_type == "application/json":
            entry["content"] = vault.document(info.doc_ref).content.decode("utf-8", errors="replace")
        documents.append(entry)
    recorded = getattr(record, "fields_by_case", {}).get(case.id, {})
    return {"available": True, "shredded": bool(record.shredded),
            "personal_data": {str(getattr(k, "value", k)): v for k, v in recorded.items()}, "documents": documents}


def build_document(app: Casework, case: Case, request: c.SubjectAccessRequest, actor: Actor,
                   vault: SubjectRecords | None, produced_at: datetime) -> dict[str, Any]:
    """The export's content (pure but for reading the store and the vault): see the module docstring."""
    subject = request.subject_ref
    redactor = _Redactor(case, subject)
    facts = _facts(app, case, redactor)
    held = _vault_part(vault, case, subject, redactor)
    return {
        "export": {"kind": "subject_access", "legal_basis": "GDPR Art. 15", "request_id": request.request_id,
                   "case_id": str(case.id), "jurisdiction": case.jurisdiction.value,
                   "controller": case.municipality_ref, "as_of_version": case.version,
                   "produced_at": produced_at.isoformat(), "produced_by": actor.person_ref,
                   "produced_by_role": actor.role.value, "recipient_ref": request.recipient_ref},
        "subject": {"ref": subject, "relation": "child" if subject == case.child_ref else "parent", **held},
        "facts": facts,
        "redactions": {**redactor.counts, "why": "GDPR Art. 15(4): the rights of others (another family member, "
                       "staff notes; a child's own views are kept from parents until legal review)"},
    }


def render(document: Mapping[str, Any], export_format: ExportFormat) -> tuple[bytes, str]:
    if export_format is ExportFormat.JSON:
        return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False).encode(), "application/json"
    page = _HTML.get_template("subject_access.html").render(doc=document)
    return page.encode(), "text/html; charset=utf-8"


class SubjectAccess:
    """The export, through the access model (ACCESS-PRIV-7, ACCESS-PRIV-SELF) and the law (PRIV-2, PRIV-10)."""

    def __init__(self, app: Casework, read_log: ReadLog, exports: ExportLog,
                 vault: SubjectRecords | None = None) -> None:
        self.app, self.read_log, self.exports, self.vault = app, read_log, exports, vault

    def _attempt(self, actor: Actor, case_id: UUID, outcome: Outcome, reason: str, jurisdiction: str | None,
                 correlation_id: str) -> None:
        self.read_log.record([ReadAttempt(actor, "subject_access_export", Purpose.OWN_CASE if actor.role.value in
                                          ("parent", "young_person") else Purpose.CASEWORK, outcome, reason, case_id,
                                          jurisdiction, correlation_id or None)])

    def authorize(self, request: c.SubjectAccessRequest, meta: CommandMeta) -> Case:
        actor, case_id = meta.actor, request.case_id
        try:
            case = self.app.get_case(case_id)
        except CaseNotFound:
            self._attempt(actor, case_id, Outcome.REFUSED, "not_found", None, meta.correlation_id)
            raise
        where, rule = case.jurisdiction.value, rights.SUBJECT_ACCESS
        held = access.relations_to_case(actor, case)
        try:
            if not rule.allows(held):
                if not access.may_see_case(actor, case):
                    raise CaseNotFound(case_id)
                raise access.AccessDenied(rule.rule_id, "SubjectAccessRequest", rule.may, held)
            rights.check_family_subject(actor, "SubjectAccessRequest", request.subject_ref, case.child_ref)
            rights.check_family_recipient(actor, "SubjectAccessRequest", request.recipient_ref)
            personal_data.require_subject_of_case(request.subject_ref, case.child_ref, case.parent_refs)
            personal_data.require_lawful_recipient(request.recipient_ref, request.subject_ref, case.child_ref,
                                                   case.parent_refs)
        except Exception as refusal:
            reason = str(getattr(refusal, "rule_id", "not_found"))
            self._attempt(actor, case_id, Outcome.REFUSED, reason, where, meta.correlation_id)
            raise
        granted_by = ", ".join(sorted(r.value for r in held & rule.may))
        self._attempt(actor, case_id, Outcome.GRANTED, f"{rule.rule_id}: {granted_by}", where, meta.correlation_id)
        return case

    def export(self, request: c.SubjectAccessRequest, meta: CommandMeta,
               export_format: ExportFormat = ExportFormat.JSON) -> SubjectAccessExport:
        """Check, build, record (fact, then export log), hand over. An export whose fact cannot be recorded (the
        case changed and the request is no longer allowed) is not handed over."""
        case = self.authorize(request, meta)
        document = build_document(self.app, case, request, meta.actor, self.vault,
                                  meta.occurred_at or datetime.now(UTC))
        content, media_type = render(document, export_format)
        digest = content_digest(content)
        result = self.app.record_subject_access_export(request, meta, export_format=export_format,
                                                       content_sha256=digest)
        record_export(self.exports, meta.actor, kind="subject_access", export_format=export_format.value,
                      recipient_ref=request.recipient_ref, rule_id=rights.SUBJECT_ACCESS.rule_id, content=content,
                      case_id=case.id, data_subject_ref=request.subject_ref, jurisdiction=case.jurisdiction.value,
                      correlation_id=meta.correlation_id or None)
        return SubjectAccessExport(document, content, media_type, digest, result)
