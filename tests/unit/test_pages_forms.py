"""The forms generated from the command models: every command of the route table gets one whose every body field
is an input, and a filled-in form becomes the JSON body the API's own model accepts (nested records, repeated
records, lists, enumerations, a mapping keyed by plan element, optional and defaulted fields)."""

from __future__ import annotations

from uuid import uuid4

import pytest

from services.api.pages.forms import Answer, Input, body, model_inputs
from services.api.routers.commands import body_model
from services.api.routes import ROUTES

BY_NAME = {route.model.__name__: route for route in ROUTES}


def _names(inputs: tuple[Input, ...]) -> set[str]:
    return {i.name.rsplit(".", 1)[-1] if "." in i.name else i.name for i in inputs}


@pytest.mark.parametrize("route", ROUTES, ids=[r.method for r in ROUTES])
def test_every_command_gets_a_form_with_every_body_field(route: object) -> None:
    model = body_model(route)  # type: ignore[arg-type]
    inputs = model_inputs(model)
    assert [i.name for i in inputs] == list(model.model_fields)
    assert all(i.kind in {"text", "number", "date", "instant", "checkbox", "select", "choices", "fieldset", "rows",
                          "list", "keyed"} for i in inputs)


def _validated(command: str, answer: dict[str, list[str]]) -> object:
    model = body_model(BY_NAME[command])
    return model.model_validate(body(model_inputs(model), Answer(answer)))


def test_a_support_plan_form_becomes_the_apis_body() -> None:
    plan = _validated("AdoptSupportPlan", {
        "plan_id": ["plan-1"], "content.needs_assessment_ref": ["doc:needs-1"],
        "content.objectives": ["doc:objective-1", "", "doc:objective-2"],
        "content.provider_roles.0.org_ref": ["org:school-1"], "content.provider_roles.0.role_doc_ref": ["doc:r-1"],
        "content.provider_roles.1.org_ref": [""], "content.evaluation_method": [""],
        "content.not_applicable.evaluation_method": ["decided_later"], "content.valid_from": ["2024-03-01"],
        "content.valid_to": ["2025-02-28"], "content.review_dates": ["2024-09-01", ""],
        "content.participants": ["person:parent-1"], "content.parents_participated": ["true"]})
    content = plan.content  # type: ignore[attr-defined]
    assert content.objectives == ("doc:objective-1", "doc:objective-2")
    assert [(r.org_ref, r.role_doc_ref) for r in content.provider_roles] == [("org:school-1", "doc:r-1")]
    assert content.evaluation_method is None and content.to_domain().not_applicable == {
        "evaluation_method": "decided_later"}
    assert content.parents_participated is True and content.child_participated is False


def test_enumerations_checkbox_lists_and_defaults() -> None:
    contact = _validated("RegisterContact", {
        "child_ref": ["person:child-1"], "parent_refs": ["person:parent-1"], "birth_date": [""],
        "municipality_ref": ["muni:reykjavik"], "coordinator_ref": ["person:coord-1"],
        "coordinator_org_ref": ["org:school-1"], "life_stage": ["primary"], "episode": [""],
        "channel": ["phone"], "initiated_by": ["parent"]})
    assert contact.birth_date is None and contact.episode == 1  # type: ignore[attr-defined]
    assert contact.conflict_of_interest_declared_none is False  # type: ignore[attr-defined]
    offer = _validated("RecordContactWithFamily", {"offered_to": ["parent", "child"],
                                                   "contact_refs": ["person:parent-1"], "response": ["accepted"]})
    assert [m.value for m in offer.offered_to] == ["parent", "child"]  # type: ignore[attr-defined]


def test_a_malformed_answer_is_refused_by_the_model_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"service_level\n.*less than or equal to 3"):
        _validated("RecordService", {"service_id": ["svc-1"], "provider_org_ref": ["org:s"], "service_level": ["4"],
                                     "service_type_code": ["tutoring"], "start_date": ["2024-03-01"]})
    with pytest.raises(ValueError, match="service_level"):
        _validated("RecordService", {"service_id": ["svc-1"], "provider_org_ref": ["org:s"], "service_level": ["two"],
                                     "service_type_code": ["t"], "start_date": ["2024-03-01"]})
    with pytest.raises(ValueError, match="PRIV-1"):
        _validated("CloseCase", {"closure_reason": ["0101302989"]})


def test_the_case_id_comes_from_the_path_never_the_form() -> None:
    inputs = model_inputs(body_model(BY_NAME["CloseCase"]))
    assert "case_id" not in {i.name for i in inputs}
    assert "case_id" not in body(inputs, Answer({"case_id": [str(uuid4())], "closure_reason": ["needs_met"]}))
