"""The vault in memory: envelope encryption per subject, rotation without re-encryption, crypto-shredding."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import uuid4

import pytest

from domain.errors import InvalidValue
from domain.legal_settings import LegalSettings
from services.vault import (
    Keyring,
    MemoryVaultStore,
    PersonalField,
    ShredBasis,
    SubjectShredded,
    Vault,
    VaultError,
    shred_subject,
)

NAME = "Guðrún Jónsdóttir"


def _vault() -> Vault:
    return Vault(MemoryVaultStore(), Keyring.generated())


def test_fields_are_sealed_per_subject_and_read_back() -> None:
    vault = _vault()
    vault.put_fields("person:parent-1", {PersonalField.NAME: NAME, PersonalField.EMAIL: "gudrun@example.is"})
    assert vault.field("person:parent-1", PersonalField.NAME) == NAME
    stored = b"".join(vault.store.field_rows.values())  # type: ignore[attr-defined]
    assert NAME.encode() not in stored and b"gudrun@example.is" not in stored


def test_a_ciphertext_moved_to_another_subject_does_not_open() -> None:
    vault = _vault()
    vault.put_fields("person:a", {PersonalField.NAME: "A"})
    vault.put_fields("person:b", {PersonalField.NAME: "B"})
    store: MemoryVaultStore = vault.store  # type: ignore[assignment]
    store.field_rows[("person:b", "", "name")] = store.field_rows[("person:a", "", "name")]
    with pytest.raises(VaultError, match="VAULT-INTEGRITY"):
        vault.fields("person:b")


def test_personal_data_is_kept_per_case_and_a_ciphertext_moved_to_another_case_does_not_open() -> None:
    vault = _vault()
    first, second = uuid4(), uuid4()
    vault.put_fields("person:a", {PersonalField.NAME: "A", PersonalField.EMAIL: "a@first.invalid"}, case_id=first)
    vault.put_fields("person:a", {PersonalField.EMAIL: "a@directory.invalid"})
    assert vault.fields("person:a", case_id=first) == {PersonalField.NAME: "A",
                                                      PersonalField.EMAIL: "a@first.invalid"}
    assert vault.fields("person:a", case_id=second) == {}  # another case does not see what the first recorded
    assert vault.field("person:a", PersonalField.EMAIL) == "a@directory.invalid"  # nor does the directory change
    record = vault.record("person:a")
    assert record.fields_by_case == {first: vault.fields("person:a", case_id=first)}
    store: MemoryVaultStore = vault.store  # type: ignore[assignment]
    store.field_rows[("person:a", str(second), "name")] = store.field_rows[("person:a", str(first), "name")]
    with pytest.raises(VaultError, match="VAULT-INTEGRITY"):
        vault.fields("person:a", case_id=second)


def test_a_subject_reference_must_be_pseudonymous() -> None:
    with pytest.raises(InvalidValue, match="subject_ref"):
        _vault().put_fields("person:1203894569", {PersonalField.NAME: "x"})


def test_a_field_value_is_bounded() -> None:
    with pytest.raises(VaultError, match="VAULT-FIELD"):
        _vault().put_fields("person:a", {PersonalField.NAME: "x" * 2001})


def test_rotation_rewraps_keys_and_never_reencrypts_data() -> None:
    vault = _vault()
    for n in range(20):
        vault.put_fields(f"person:p-{n}", {PersonalField.NAME: f"Person {n}"})
    store: MemoryVaultStore = vault.store  # type: ignore[assignment]
    sealed_before = dict(store.field_rows)
    report = vault.rotate()
    assert report.rewrapped == 20 and report.from_kek_ids == ("k1",)
    assert vault.keys.ids() == (report.to_kek_id,)
    assert store.field_rows == sealed_before
    assert vault.field("person:p-7", PersonalField.NAME) == "Person 7"


def test_shredding_destroys_the_subject_and_only_the_subject() -> None:
    vault = _vault()
    vault.put_fields("person:a", {PersonalField.NAME: "A"})
    vault.put_fields("person:b", {PersonalField.NAME: "B"})
    vault.put_document("doc:plan-1", "person:a", b"plan text")
    receipt = shred_subject(vault, "person:a", ShredBasis.OUTSIDE_ARCHIVE_DUTY)
    assert (receipt.fields_destroyed, receipt.documents_destroyed) == (1, 1)
    assert receipt.kek_rotated_to is not None
    with pytest.raises(SubjectShredded):
        vault.fields("person:a")
    with pytest.raises(SubjectShredded):
        vault.put_fields("person:a", {PersonalField.NAME: "A again"})
    assert vault.field("person:b", PersonalField.NAME) == "B"
    assert vault.record("person:a").shredded


def test_shredding_is_refused_on_a_basis_the_legal_settings_do_not_admit() -> None:
    vault = _vault()
    vault.put_fields("person:a", {PersonalField.NAME: "A"})
    with pytest.raises(VaultError, match="VAULT-SHRED-BASIS"):
        shred_subject(vault, "person:a", ShredBasis.WITHDRAWN_SHARING_WITHOUT_OUTCOME)
    allowed = LegalSettings(shredding_bases=frozenset({"withdrawn_sharing_without_outcome"}))
    shred_subject(vault, "person:a", ShredBasis.WITHDRAWN_SHARING_WITHOUT_OUTCOME, allowed)
    assert vault.is_shredded("person:a")


def test_a_backup_of_the_key_table_does_not_open_after_shredding() -> None:
    """The shred rotates the KEK and destroys the old one: a backup's wrapped DEK is wrapped under a key gone."""
    vault = _vault()
    vault.put_fields("person:a", {PersonalField.NAME: "A"})
    store: MemoryVaultStore = vault.store  # type: ignore[assignment]
    backup_key, backup_field = store.keys["person:a"], store.field_rows[("person:a", "", "name")]
    shred_subject(vault, "person:a", ShredBasis.OUTSIDE_ARCHIVE_DUTY)
    with pytest.raises(VaultError, match="VAULT-KEK"):
        vault.keys.unwrap(backup_key.kek_id, backup_key.wrapped_dek, b"prosperity-vault:dek:person:a")
    assert backup_field


def test_configured_keys_are_not_made_by_the_process() -> None:
    ring = Keyring.from_config({"k1": "A" * 43 + "="}, "k1")
    with pytest.raises(VaultError, match="VAULT-KEK"):
        ring.create()


def test_documents_are_bounded_in_type_and_size() -> None:
    vault = _vault()
    with pytest.raises(VaultError, match="VAULT-DOC-TYPE"):
        vault.put_document("doc:x", "person:a", b"x", media_type="image/gif")
    with pytest.raises(VaultError, match="VAULT-DOC-SIZE"):
        vault.put_document("doc:x", "person:a", b"")


def test_processes_starting_together_on_an_empty_key_directory_agree_on_one_key(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        rings = list(pool.map(lambda _: Keyring.in_directory(tmp_path / "keys"), range(8)))
    wrapped = rings[0].wrap("k1", b"k" * 32, b"aad")
    assert all(ring.unwrap("k1", wrapped, b"aad") == b"k" * 32 for ring in rings)


def test_a_process_sharing_the_key_directory_follows_another_ones_rotation(tmp_path: Path) -> None:
    first, second = Keyring.in_directory(tmp_path), Keyring.in_directory(tmp_path)
    store = MemoryVaultStore()
    Vault(store, first).put_fields("person:a", {PersonalField.NAME: "A"})
    Vault(store, first).rotate()
    assert second.active_id == first.active_id
    assert Vault(store, second).field("person:a", PersonalField.NAME) == "A"


def test_a_document_reference_cannot_be_taken_over_by_another_subject_or_case() -> None:
    vault = _vault()
    vault.put_document("doc:plan-1", "person:child-a", b"plan of a")
    with pytest.raises(VaultError, match="VAULT-DOC-OWNER"):
        vault.put_document("doc:plan-1", "person:child-b", b"plan of b")
    assert vault.document("doc:plan-1").content == b"plan of a"


@pytest.mark.parametrize("value", ["Zorb\x00lax", "Anna\u202eSig", "Jón\x1b[31m", "a\u2028b", "Guðrún\n"])
def test_a_name_with_control_or_bidi_override_characters_is_refused(value: str) -> None:
    vault = _vault()
    with pytest.raises(VaultError, match="VAULT-FIELD") as refused:
        vault.put_fields("person:a", {PersonalField.NAME: value})
    assert refused.value.field == "name" and value not in str(refused.value)
    assert vault.fields("person:a") == {}


def test_names_in_any_script_and_multi_line_addresses_are_kept() -> None:
    vault = _vault()
    values = {PersonalField.NAME: "Mehr\u200cnoosh Þórsdóttir-Ødegård",
              PersonalField.POSTAL_ADDRESS: "Storgata 8\n5003 Bergen"}
    vault.put_fields("person:a", values)
    assert vault.fields("person:a") == values
    vault.put_fields("person:a", {PersonalField.POSTAL_ADDRESS: "Storgata 8\r\n5003 Bergen"})  # pasted, CRLF
    assert vault.field("person:a", PersonalField.POSTAL_ADDRESS) == "Storgata 8\n5003 Bergen"
