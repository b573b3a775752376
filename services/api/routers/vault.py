"""The personal-data vault over HTTP: a case family member's personal data, and the documents behind a case's
``doc:`` references. Each call goes through the access model (``ACCESS-VAULT-n``) and is in the read-access log;
a person who is not the case's, a document of another case and a refusal to someone who may not see the case
all answer 404. Values are stored sealed under the data subject's own key (:mod:`services.vault`), never in an
event; a subject whose key was destroyed answers 410."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain import access
from domain.access import VaultAction
from domain.errors import InvalidValue
from domain.values import Actor
from services.api.deps import PURPOSE_RULE, Services, caller, correlation, describe_access, responses, services
from services.api.problems import problem
from services.casework.read_log import Purpose
from services.vault import DocumentNotFound, NotInVault, PersonalField, SubjectShredded, VaultAccess, VaultError
from services.vault.model import MAX_DOCUMENT_BYTES, MAX_FIELD_CHARS
from services.vault.vault import MEDIA_TYPES

router = APIRouter(tags=["vault"])
PURPOSE = Header(alias="X-Purpose",
                 description="Why the personal data is read; recorded in the read-access log." + PURPOSE_RULE)
CASE_PATH = Path(description="The case the person or document belongs to.")
PERSON_PATH = Path(pattern=r"^person:[A-Za-z0-9._-]{1,80}$", description="The child or a parent of the case.")
DOC_PATH = Path(pattern=r"^doc:[A-Za-z0-9._-]{1,80}$", description="The document's reference, as in the facts.")
FieldText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_FIELD_CHARS)]


class PersonalData(BaseModel):
    """A person's personal data: never in an event; sealed under their own key in the vault."""

    model_config = ConfigDict(extra="forbid")
    name: FieldText | None = None
    national_id: FieldText | None = None
    email: FieldText | None = None
    phone: FieldText | None = None
    postal_address: FieldText | None = None

    def values(self) -> dict[PersonalField, str]:
        return {PersonalField(k): v for k, v in self.model_dump(exclude_none=True).items()}


class PersonalDataView(PersonalData):
    person_ref: str


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    media_type: str = Field(description=f"One of {', '.join(sorted(MEDIA_TYPES))}.", max_length=40)
    content_base64: str = Field(max_length=(MAX_DOCUMENT_BYTES * 4) // 3 + 4,
                                description=f"The document, base64 (at most {MAX_DOCUMENT_BYTES} bytes).")


class DocumentView(BaseModel):
    doc_ref: str
    case_id: UUID
    media_type: str
    content_base64: str


def _access(action: VaultAction) -> tuple[str, dict[str, object]]:
    return describe_access({"any": access.VAULT[action]})


def _vault(svc: Services) -> VaultAccess:
    assert svc.vault is not None, "create_app builds the vault"
    return svc.vault


_READ_P, _STORE_P, _READ_D, _STORE_D = (_access(a) for a in (
    VaultAction.READ_PERSONAL_DATA, VaultAction.STORE_PERSONAL_DATA, VaultAction.READ_DOCUMENT,
    VaultAction.STORE_DOCUMENT))


@router.get("/v1/cases/{case_id}/people/{person_ref}", summary="A case family member's personal data",
            response_model=PersonalDataView, responses=responses(401, 403, 404, 422, 429),
            operation_id="get_personal_data", description=_READ_P[0], openapi_extra={"x-prosperity-access": _READ_P[1]})
def get_personal_data(request: Request, case_id: UUID = CASE_PATH, person_ref: str = PERSON_PATH,
                      purpose: Purpose = PURPOSE, actor: Actor = Depends(caller),  # noqa: B008
                      svc: Services = Depends(services)) -> PersonalDataView:  # noqa: B008
    found = _vault(svc).personal_data(actor, case_id, person_ref, purpose=purpose, correlation_id=correlation(request))
    return PersonalDataView(person_ref=person_ref, **{k.value: v for k, v in found.items() if k is not
                                                      PersonalField.WEBHOOK})


@router.put("/v1/cases/{case_id}/people/{person_ref}", summary="Store or correct a family member's personal data",
            status_code=204, responses=responses(401, 403, 404, 422, 429), operation_id="put_personal_data",
            description=_STORE_P[0], openapi_extra={"x-prosperity-access": _STORE_P[1]})
def put_personal_data(body: PersonalData, request: Request, case_id: UUID = CASE_PATH,
                      person_ref: str = PERSON_PATH, actor: Actor = Depends(caller),  # noqa: B008
                      svc: Services = Depends(services)) -> Response:  # noqa: B008
    if not body.values():
        raise InvalidValue("body", "name at least one of name, national_id, email, phone, postal_address")
    _vault(svc).store_personal_data(actor, case_id, person_ref, body.values(), correlation_id=correlation(request))
    return Response(status_code=204)


@router.get("/v1/cases/{case_id}/documents/{doc_ref}", summary="The document behind a doc: reference",
            response_model=DocumentView, responses=responses(401, 403, 404, 422, 429), operation_id="get_document",
            description=_READ_D[0], openapi_extra={"x-prosperity-access": _READ_D[1]})
def get_document(request: Request, case_id: UUID = CASE_PATH, doc_ref: str = DOC_PATH, purpose: Purpose = PURPOSE,
                 actor: Actor = Depends(caller), svc: Services = Depends(services)) -> DocumentView:  # noqa: B008
    found = _vault(svc).document(actor, case_id, doc_ref, purpose=purpose, correlation_id=correlation(request))
    return DocumentView(doc_ref=doc_ref, case_id=case_id, media_type=found.media_type,
                        content_base64=base64.b64encode(found.content).decode())


@router.put("/v1/cases/{case_id}/documents/{doc_ref}", summary="Store the document behind a doc: reference",
            status_code=204, responses=responses(401, 403, 404, 422, 429), operation_id="put_document",
            description=_STORE_D[0], openapi_extra={"x-prosperity-access": _STORE_D[1]})
def put_document(body: DocumentIn, request: Request, case_id: UUID = CASE_PATH, doc_ref: str = DOC_PATH,
                 actor: Actor = Depends(caller), svc: Services = Depends(services)) -> Response:  # noqa: B008
    try:
        content = base64.b64decode(body.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidValue("content_base64", "must be standard base64") from None
    _vault(svc).store_document(actor, case_id, doc_ref, content, body.media_type, correlation_id=correlation(request))
    return Response(status_code=204)


def install_problem_handlers(api: FastAPI) -> None:
    """The vault's refusals: 404 (not here, or not for you), 410 (shredded), 422 (a field's rule)."""

    async def vault_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, VaultError)
        if isinstance(error, NotInVault | DocumentNotFound):
            return problem(404, "not-found", "Not found", error.reason)
        if isinstance(error, SubjectShredded):
            return problem(410, "shredded", "Gone for ever", error.reason, rule_id=error.rule_id)
        if error.field is not None:
            return problem(422, "invalid-value", "A value is malformed", f"{error.field}: {error.reason}",
                           errors=[{"field": error.field, "rule": f"{error.rule_id}: {error.reason}"}])
        return problem(409, "refused", "Refused by the vault", error.reason, rule_id=error.rule_id,
                       remedy=error.remedy)

    api.add_exception_handler(VaultError, vault_error)
