"""The data subject's rights over HTTP that are not plain commands: the subject access export and the export log.

``POST /v1/cases/{case_id}/subject-access-exports`` produces the export (GDPR Art. 15) through
``services.casework.subject_access`` (ACCESS-PRIV-7, PRIV-2, PRIV-10): the answer *is* the export, JSON or a
readable HTML page, with its SHA-256 in ``X-Content-SHA256`` (the same digest the ``subject_access_exported`` fact
and the export log hold). It is a POST because producing it records a fact. ``GET /v1/audit/export-log`` lists
every export with its recipient, for the supervisor of the jurisdiction (ACCESS-PRIV-9).

The erasure, restriction, rectification, protection and archiving commands are in the command table
(``services.api.routes``).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict

from contracts import commands as c
from contracts.refs import Identifier, PersonRef
from domain.access import ReadKind
from domain.access import personal_data as rights
from domain.personal_data import ExportFormat
from domain.values import Actor
from services.api.deps import (
    OCCURRED_AT_DOC,
    OCCURRED_AT_HEADER,
    Services,
    caller,
    correlation,
    describe_access,
    occurred_at,
    read_access,
    responses,
    services,
)
from services.casework.application import CommandMeta
from services.casework.read_log import Purpose

router = APIRouter(tags=["rights"])
CASE_PATH = Path(description="The case id.")
LIMIT = Query(1000, ge=1, le=10_000)
CASE_FILTER = Query(None)
_SAR_DESCRIPTION, _SAR_ACCESS = describe_access({"any": rights.SUBJECT_ACCESS})
_LOG_DESCRIPTION, _LOG_ACCESS = read_access(ReadKind.EXPORT_LOG)


class SubjectAccessBody(BaseModel):
    """An Art. 15 request: whose data, for whom, in which format."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    request_id: Identifier
    subject_ref: PersonRef
    recipient_ref: PersonRef
    export_format: ExportFormat = ExportFormat.JSON


class ExportLogEntry(BaseModel):
    """One export: who produced it, what, about whom, for whom, under which rule, and the digest of its bytes."""

    id: int
    exported_at: datetime
    subject: str
    role: str
    org_ref: str | None
    municipality_ref: str | None
    kind: str
    export_format: str
    case_id: UUID | None
    data_subject_ref: str | None
    recipient_ref: str
    rule_id: str
    content_sha256: str
    jurisdiction: str | None
    correlation_id: str | None


@router.post("/v1/cases/{case_id}/subject-access-exports", summary="Produce (and record) a subject access export",
             operation_id="subject_access_export", responses=responses(401, 403, 404, 409, 422, 429),
             description="Everything the case holds about one of its data subjects (its facts, and their vault "
                         "record), other people's data redacted; JSON or a readable HTML page. Recorded as the "
                         "fact subject_access_exported, in the read-access log and in the export log with its "
                         f"recipient.\n\n{_SAR_DESCRIPTION}", openapi_extra={"x-prosperity-access": _SAR_ACCESS})
def subject_access_export(request: Request, case_id: UUID = CASE_PATH,
                          body: SubjectAccessBody = Body(),  # noqa: B008
                          occurred: str | None = Header(None, alias=OCCURRED_AT_HEADER, description=OCCURRED_AT_DOC),
                          actor: Actor = Depends(caller), svc: Services = Depends(services)) -> Response:  # noqa: B008
    assert svc.subject_access is not None  # built by create_app
    command = c.SubjectAccessRequest(case_id=case_id, request_id=body.request_id, subject_ref=body.subject_ref,
                                     recipient_ref=body.recipient_ref)
    meta = CommandMeta(actor, occurred_at=occurred_at(occurred),
                       correlation_id=correlation(request) or "")
    made = svc.subject_access.export(command, meta, body.export_format)
    return Response(made.content, media_type=made.media_type, headers={
        "X-Content-SHA256": made.content_sha256, "ETag": f'"{made.result.version}"',
        "Content-Disposition": f'attachment; filename="subject-access-{body.request_id}.{body.export_format.value}"',
        "Cache-Control": "no-store"})


@router.get("/v1/audit/export-log", summary="Every export of personal data, with its recipient",
            response_model=list[ExportLogEntry], operation_id="export_log", responses=responses(401, 403, 422, 429),
            description=_LOG_DESCRIPTION, openapi_extra={"x-prosperity-access": _LOG_ACCESS})
def export_log(request: Request, case_id: UUID | None = CASE_FILTER, limit: int = LIMIT,
               actor: Actor = Depends(caller), svc: Services = Depends(services)) -> list[ExportLogEntry]:  # noqa: B008
    assert svc.exports is not None
    scope = svc.reads.scope(actor, ReadKind.EXPORT_LOG, resource="export_log", purpose=Purpose.SUPERVISION,
                            correlation_id=correlation(request))
    where = None if scope.jurisdiction is None else scope.jurisdiction.value
    rows = svc.exports.entries(case_id=case_id, jurisdiction=where, limit=limit)
    svc.reads.rows_read(actor, ReadKind.EXPORT_LOG, resource="export_log", purpose=Purpose.SUPERVISION,
                        cases=[(row["case_id"], row["jurisdiction"]) for row in rows],
                        correlation_id=correlation(request))
    return [ExportLogEntry.model_validate(row) for row in rows]
