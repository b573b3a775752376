"""The agency registry refuses what it cannot turn into an exact filter, naming the field and the rule; the
permission table grants each identity exactly its job (the integration tests show the server enforcing it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.bus.keys import new_user_seed, public_key_of
from services.bus.plan import (
    ADMIN,
    API,
    APP_ACCOUNT,
    RELAY,
    BusPlan,
    ConsumerSpec,
    Namespace,
    Permissions,
    plan_bus,
)
from services.bus.registry import Agency, AgencyRegistry, RegistryError, load_registry

DEPLOY_REGISTRY = Path(__file__).resolve().parents[2] / "deploy" / "nats" / "agencies.toml"


def agency(**fields: object) -> Agency:
    values: dict[str, object] = {"id": "gev", "jurisdiction": "IS", "municipalities": ["muni:reykjavik"]}
    return Agency.model_validate(values | fields)


def plan(registry: AgencyRegistry, namespace: Namespace | None = None) -> BusPlan:
    return plan_bus(namespace or Namespace(), [ConsumerSpec(name=n) for n in ("dashboard", "audit")], registry,
                    public_key=lambda name: f"U-{name}")


# ---- the registry -----------------------------------------------------------------------------------------
def test_the_checked_in_registry_is_valid_and_names_real_event_types() -> None:
    registry = load_registry(DEPLOY_REGISTRY)
    assert {a.id for a in registry.agency} == {"gev-capital", "akureyri-welfare", "statsforvalteren-nordland"}
    assert registry.get("gev-capital").filter_subjects() == (
        "cases.v1.is.reykjavik.complaint_lodged", "cases.v1.is.reykjavik.complaint_outcome_recorded",
        "cases.v1.is.kopavogur.complaint_lodged", "cases.v1.is.kopavogur.complaint_outcome_recorded")
    assert registry.get("akureyri-welfare").filter_subjects() == ("cases.v1.is.akureyri.>",
                                                                  "directory.v1.is.akureyri.>")


@pytest.mark.parametrize(("fields", "field", "rule"), [
    ({"id": "GEV"}, "id", "pattern"),
    ({"id": "g"}, "id", "pattern"),
    ({"jurisdiction": "SE"}, "jurisdiction", "'IS' or 'NO'"),
    ({"municipalities": []}, "municipalities", "at least 1"),
    ({"municipalities": ["reykjavik"]}, "municipalities.0", "PRIV-1"),
    ({"municipalities": ["muni:a.b"]}, "municipalities.0", "PRIV-1"),
    ({"municipalities": ["muni:reykjavik", "muni:reykjavik"]}, "municipalities", "same value twice"),
    ({"event_types": ["complaint_filed"]}, "event_types", "unknown event types ['complaint_filed']"),
    ({"event_types": ["institution_registered"], "directory": True}, "", "directory = true already includes"),
    ({"nkey": "SUAK-not-a-public-key"}, "nkey", "nkey user public key"),
    ({"max_deliver": 0}, "max_deliver", "greater than or equal to 1"),
    ({"colour": "blue"}, "colour", "Extra inputs are not permitted"),
])
def test_an_agency_entry_is_refused_with_its_field_and_rule(fields: dict[str, object], field: str, rule: str) -> None:
    with pytest.raises(ValidationError) as refused:
        agency(**fields)
    errors = refused.value.errors()
    assert any(".".join(map(str, e["loc"])) == field and rule in e["msg"] for e in errors), errors


def test_an_agency_may_bring_its_own_public_key_and_then_no_seed_is_made_for_it() -> None:
    own = public_key_of(new_user_seed())
    asked: list[str] = []

    def key(name: str) -> str:
        asked.append(name)
        return f"U-{name}"

    bus = plan_bus(Namespace(), [], AgencyRegistry(agency=(agency(nkey=own),)), public_key=key)
    assert "agency-gev" not in asked
    assert bus.identity("agency-gev").public_key == own


def test_a_registry_file_with_a_typo_is_refused_naming_the_file_the_field_and_the_rule(tmp_path: Path) -> None:
    path = tmp_path / "agencies.toml"
    path.write_text('[[agency]]\nid = "gev"\njurisdiction = "IS"\nmunicipalitys = ["muni:reykjavik"]\n')
    with pytest.raises(RegistryError, match=r"agencies\.toml: agency\.0\.municipalities: Field required"):
        load_registry(path)
    path.write_text('[[agency]]\nid = "gev"\njurisdiction = "IS"\nmunicipalities = ["muni:a"]\n' * 2)
    with pytest.raises(RegistryError, match="agency ids must be unique; repeated: \\['gev'\\]"):
        load_registry(path)
    path.write_text("[[agency]\n")
    with pytest.raises(RegistryError, match="not valid TOML"):
        load_registry(path)


def test_filters_follow_the_namespace_one_per_municipality_and_event_type() -> None:
    entry = agency(municipalities=["muni:a-b", "muni:a_b"], event_types=["complaint_lodged"])
    assert entry.filter_subjects("t1") == ("t1.cases.v1.is.a-b.complaint_lodged", "t1.cases.v1.is.a_b.complaint_lodged")
    assert (entry.account, entry.durable) == ("AGENCY_GEV", "agency-gev")


# ---- the permission table ------------------------------------------------------------------------------
def test_only_the_relay_may_publish_facts() -> None:
    bus = plan(AgencyRegistry(agency=(agency(),)))
    publishers = {i.name for i in bus.identities if any(p.startswith(("cases.", "directory.", ">"))
                                                        for p in i.permissions.publish)}
    assert publishers == {RELAY}
    assert bus.identity(RELAY).permissions == Permissions(publish=("cases.v1.>", "directory.v1.>"),
                                                          subscribe=("_INBOX_relay.>",))


def test_each_read_model_pulls_acks_and_dead_letters_its_own_durable_only() -> None:
    bus = plan(AgencyRegistry(), Namespace(stream="T_1", subject_prefix="t1"))
    audit = bus.identity("audit")
    assert (audit.account, audit.js_api_prefix) == ("RM_audit", "prosperity.API")  # alone, as an agency is
    assert audit.permissions == Permissions(
        publish=("prosperity.API.CONSUMER.MSG.NEXT.T_1.audit", "prosperity.API.CONSUMER.INFO.T_1.audit",
                 "$JS.ACK.T_1.audit.>", "t1.deadletter.audit.>"),
        subscribe=("_INBOX_audit.>",))
    accounts = bus.accounts()
    exported = [(e["service"], e["accounts"]) for e in accounts[APP_ACCOUNT]["exports"] if "audit" in e["service"]]
    assert exported == [("$JS.API.CONSUMER.MSG.NEXT.T_1.audit", ["RM_audit"]),
                        ("$JS.API.CONSUMER.INFO.T_1.audit", ["RM_audit"]),
                        ("$JS.ACK.T_1.audit.>", ["RM_audit"]), ("t1.deadletter.audit.>", ["RM_audit"])]
    assert all(user["nkey"] != audit.public_key for user in accounts[APP_ACCOUNT]["users"])
    assert [(d.name, d.filter_subjects, d.max_deliver) for d in bus.durables] == [
        ("dashboard", ("t1.*.v1.>",), 10), ("audit", ("t1.*.v1.>",), 10)]


def test_the_relay_lives_in_its_own_account_and_imports_only_the_fact_subjects() -> None:
    """Outside ``APP``, so a reply subject it names is rewritten by the import (never a stream's subject)."""
    bus = plan(AgencyRegistry())
    accounts, relay = bus.accounts(), bus.identity(RELAY)
    assert (relay.account, relay.permissions.publish) == ("RELAY", ("cases.v1.>", "directory.v1.>"))
    assert [user["nkey"] for user in accounts["RELAY"]["users"]] == [relay.public_key]
    assert all(user["nkey"] != relay.public_key for user in accounts[APP_ACCOUNT]["users"])
    assert [i["service"]["subject"] for i in accounts["RELAY"]["imports"]] == ["cases.v1.>", "directory.v1.>"]
    assert [e["service"] for e in accounts[APP_ACCOUNT]["exports"] if e["accounts"] == ["RELAY"]] == [
        "cases.v1.>", "directory.v1.>"]


def test_the_api_may_only_connect_and_admin_cannot_publish_facts() -> None:
    bus = plan(AgencyRegistry())
    assert bus.identity(API).permissions.to_config() == {"publish": {"deny": [">"]}, "subscribe": {"deny": [">"]}}
    assert bus.identity(ADMIN).permissions.publish == ("$JS.API.>", "$JS.ACK.>", "$JS.FC.>")


def test_an_agency_lives_in_its_own_account_and_imports_only_its_consumer() -> None:
    bus = plan(AgencyRegistry(agency=(agency(),)))
    accounts = bus.accounts()
    assert set(accounts) == {APP_ACCOUNT, "AGENCY_GEV", "RELAY", *(f"RM_{c}" for c in ("dashboard", "audit"))}
    exported = [(e["service"], e["accounts"]) for e in accounts[APP_ACCOUNT]["exports"]
                if e["accounts"] == ["AGENCY_GEV"]]
    assert exported == [("$JS.API.CONSUMER.MSG.NEXT.CASES.agency-gev", ["AGENCY_GEV"]),
                        ("$JS.API.CONSUMER.INFO.CASES.agency-gev", ["AGENCY_GEV"]),
                        ("$JS.ACK.CASES.agency-gev.>", ["AGENCY_GEV"])]
    assert [i["to"] for i in accounts["AGENCY_GEV"]["imports"]] == [
        "prosperity.API.CONSUMER.MSG.NEXT.CASES.agency-gev", "prosperity.API.CONSUMER.INFO.CASES.agency-gev",
        "$JS.ACK.CASES.agency-gev.>"]
    user = accounts["AGENCY_GEV"]["users"][0]
    assert user["permissions"]["subscribe"] == {"allow": ["_INBOX.>"]}
    assert "jetstream" not in accounts["AGENCY_GEV"]


def test_consumer_names_may_not_take_a_service_identity() -> None:
    with pytest.raises(ValueError, match=r"not one of \['admin', 'api', 'relay'\]: \['relay'\]"):
        plan_bus(Namespace(), [ConsumerSpec(name="relay")], AgencyRegistry(), public_key=lambda n: "U")
