"""The vault on real PostgreSQL: only ciphertext at rest, rotation of the wrapping key under concurrent writes
and reads loses nothing, and a shred reaches a backup of the vault's tables."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from services.infra.postgres_env import PgTarget
from services.vault import (
    Keyring,
    PersonalField,
    PostgresVaultStore,
    ShredBasis,
    SubjectShredded,
    Vault,
    VaultError,
    shred_subject,
)
from services.vault.keys import open_sealed

NAME, NATIONAL_ID, EMAIL = "Sigríður Þórsdóttir", "120389-4569", "sigridur.thors@example.is"


@pytest.fixture
def vault(pg_schema: PgTarget) -> Iterator[Vault]:
    with ConnectionPool(pg_schema.dsn, min_size=1, max_size=8, kwargs={"autocommit": False}) as pool:
        found = Vault(PostgresVaultStore(pool, pg_schema.schema), Keyring.generated())
        found.setup()
        yield found


def _dump(target: PgTarget) -> bytes:
    """Every byte of every row of every table in the schema, as PostgreSQL prints it (text and bytea)."""
    out = []
    with psycopg.connect(target.dsn) as conn:
        tables = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                              (target.schema,)).fetchall()
        for (table,) in tables:
            for row in conn.execute(f'SELECT t::text FROM "{target.schema}"."{table}" t').fetchall():
                out.append(row[0].encode())
    return b"\n".join(out)


def test_only_ciphertext_is_stored(vault: Vault, pg_schema: PgTarget) -> None:
    vault.put_fields("person:mum-1", {PersonalField.NAME: NAME, PersonalField.NATIONAL_ID: NATIONAL_ID,
                                      PersonalField.EMAIL: EMAIL})
    vault.put_document("doc:plan-1", "person:child-1", "Áætlun: stuðningur í skóla".encode())
    stored = _dump(pg_schema)
    for secret in (NAME, NATIONAL_ID, "1203894569", EMAIL, "Áætlun"):
        assert secret.encode() not in stored
        assert secret.encode().hex().encode() not in stored  # nor as bytea hex
    assert vault.fields("person:mum-1")[PersonalField.NATIONAL_ID] == NATIONAL_ID
    assert vault.document("doc:plan-1").content.decode().startswith("Áætlun")


def test_rotating_the_wrapping_key_under_concurrent_writes_and_reads_loses_nothing(vault: Vault) -> None:
    written: dict[str, str] = {}
    lock, stop, failures = threading.Lock(), threading.Event(), []

    def writer(worker: int) -> None:
        n = 0
        while not stop.is_set():
            ref, value = f"person:w{worker}-{n}", f"Person {worker}/{n}"
            try:
                vault.put_fields(ref, {PersonalField.NAME: value})
            except Exception as error:
                failures.append(repr(error))
                return
            with lock:
                written[ref] = value
            n += 1

    def reader() -> None:
        rng = random.Random(7)
        while not stop.is_set():
            with lock:
                if not written:
                    continue
                ref, value = rng.choice(sorted(written.items()))
            try:
                assert vault.field(ref, PersonalField.NAME) == value
            except Exception as error:
                failures.append(repr(error))
                return

    for n in range(50):
        vault.put_fields(f"person:seed-{n}", {PersonalField.NAME: f"Seed {n}"})
        written[f"person:seed-{n}"] = f"Seed {n}"
    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)] + \
              [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    reports = [vault.rotate() for _ in range(3)]
    stop.set()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(vault.keys.ids()) == 1 and vault.keys.active_id == reports[-1].to_kek_id
    assert sum(r.rewrapped for r in reports) >= 50
    assert vault.store.keys_not_under(vault.keys.active_id, 10) == []
    for ref, value in written.items():
        assert vault.field(ref, PersonalField.NAME) == value
    assert len(written) > 50


def test_a_shred_reaches_a_backup_taken_before_it(vault: Vault, pg_schema: PgTarget) -> None:
    vault.put_fields("person:mum-1", {PersonalField.NAME: NAME})
    vault.put_fields("person:dad-1", {PersonalField.NAME: "Jón"})
    with psycopg.connect(pg_schema.dsn) as conn:  # the backup: a copy of the vault's rows
        keys: dict[str, tuple[str, bytes]] = {r[0]: (r[1], bytes(r[2])) for r in conn.execute(
            f'SELECT subject_ref, kek_id, wrapped_dek FROM "{pg_schema.schema}".vault_subject_keys').fetchall()}
        fields: dict[str, bytes] = {r[0]: bytes(r[1]) for r in conn.execute(
            f'SELECT subject_ref, sealed FROM "{pg_schema.schema}".vault_fields').fetchall()}
    shred_subject(vault, "person:mum-1", ShredBasis.ERASURE_GRANTED)
    kek_id, wrapped = keys["person:mum-1"]
    with pytest.raises(VaultError, match="VAULT-KEK"):
        vault.keys.unwrap(kek_id, wrapped, b"prosperity-vault:dek:person:mum-1")
    # the other parent's backed-up ciphertext still opens with the live key table (restore = data + live keys)
    live = vault.store.key("person:dad-1")
    assert live is not None
    dek = vault.keys.unwrap(live.kek_id, live.wrapped_dek, b"prosperity-vault:dek:person:dad-1")
    backed_up = fields["person:dad-1"]
    assert open_sealed(dek, backed_up, b"prosperity-vault:field:person:dad-1:name") == "Jón".encode()
    assert b"person:mum-1" in _dump(pg_schema)  # the tombstone keeps the pseudonymous reference only
    assert NAME.encode() not in _dump(pg_schema)


def test_rotation_in_one_process_loses_nothing_another_process_writes_meanwhile(
        pg_schema: PgTarget, tmp_path: Path) -> None:
    """Two vaults as two processes would have them (own pools, own keyrings on one key directory): one rotates
    three times while the other creates subjects; the store's retirement of the old KEK, not a thread lock, keeps
    every new data key from being stored under a key about to be destroyed."""
    with ConnectionPool(pg_schema.dsn, min_size=1, max_size=4, kwargs={"autocommit": False}) as pool_a, \
            ConnectionPool(pg_schema.dsn, min_size=1, max_size=4, kwargs={"autocommit": False}) as pool_b:
        rotator = Vault(PostgresVaultStore(pool_a, pg_schema.schema), Keyring.in_directory(tmp_path))
        writer = Vault(PostgresVaultStore(pool_b, pg_schema.schema), Keyring.in_directory(tmp_path))
        rotator.setup()
        written: dict[str, str] = {}
        stop, failures = threading.Event(), []

        def write() -> None:
            n = 0
            while not stop.is_set():
                try:
                    writer.put_fields(f"person:b-{n}", {PersonalField.NAME: f"B {n}"})
                except Exception as error:
                    failures.append(repr(error))
                    return
                written[f"person:b-{n}"] = f"B {n}"
                n += 1

        thread = threading.Thread(target=write)
        thread.start()
        for round_ in range(1, 4):
            while len(written) < 10 * round_ and not failures:  # writes before, during and after each rotation
                time.sleep(0.01)
            rotator.rotate()
        while len(written) < 40 and not failures:
            time.sleep(0.01)
        stop.set()
        thread.join()
        assert failures == [] and len(written) > 10
        assert rotator.store.keys_not_under(rotator.keys.active_id, 10) == []
        for reader in (rotator, writer):
            assert all(reader.field(ref, PersonalField.NAME) == value for ref, value in written.items())


def test_a_write_racing_a_shred_leaves_nothing_behind(vault: Vault, pg_schema: PgTarget) -> None:
    """Writes hold the subject's key row while they store; the shred waits for them, then deletes what they
    stored: after it, not even ciphertext of the subject is left, and later writes are refused."""
    vault.put_fields("person:mum-1", {PersonalField.NAME: NAME})
    stop, outcomes = threading.Event(), []

    def keep_writing() -> None:
        n = 0
        while not stop.is_set():
            try:
                vault.put_fields("person:mum-1", {PersonalField.PHONE: f"+354 {n:07d}"})
            except SubjectShredded:
                outcomes.append("shredded")
                return
            n += 1

    threads = [threading.Thread(target=keep_writing) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    shred_subject(vault, "person:mum-1", ShredBasis.ERASURE_GRANTED)
    for thread in threads:
        thread.join(timeout=10)
    stop.set()
    assert outcomes == ["shredded"] * 3
    with psycopg.connect(pg_schema.dsn) as conn:
        left = conn.execute(f'SELECT count(*) FROM "{pg_schema.schema}".vault_fields').fetchone()
    assert left == (0,)


def test_a_vault_made_before_fields_had_a_scope_is_rekeyed_and_keeps_its_fields_for_the_directory(
        pg_schema: PgTarget) -> None:
    with ConnectionPool(pg_schema.dsn, min_size=1, max_size=4, kwargs={"autocommit": False}) as pool:
        older = Vault(PostgresVaultStore(pool, pg_schema.schema), Keyring.generated())
        older.setup()
        table = f'"{pg_schema.schema}".vault_fields'
        with psycopg.connect(pg_schema.dsn, autocommit=True) as conn:  # the table as the last stop made it
            conn.execute(f"DROP TABLE {table}")
            conn.execute(f"CREATE TABLE {table} (subject_ref text NOT NULL, name text NOT NULL, sealed bytea NOT NULL,"
                         " updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (subject_ref, name))")
        older.store.create_tables()  # a start of the new code
        older.put_fields("person:parent-old-1", {PersonalField.EMAIL: EMAIL})
        case_id = uuid4()
        older.put_fields("person:parent-old-1", {PersonalField.EMAIL: "other@example.invalid"}, case_id=case_id)
        older.store.create_tables()  # and the next start: nothing left to do
        assert older.field("person:parent-old-1", PersonalField.EMAIL) == EMAIL
        assert older.field("person:parent-old-1", PersonalField.EMAIL, case_id=case_id) == "other@example.invalid"
        with psycopg.connect(pg_schema.dsn) as conn:
            key = conn.execute("SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_constraint c"
                               " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)"
                               " WHERE c.conrelid = %s::regclass AND c.contype = 'p'",
                               (f'"{pg_schema.schema}".vault_fields',)).fetchone()
        assert key == (["name", "scope", "subject_ref"],)
