"""``prosperity vault rotate | shred | scan`` against real PostgreSQL, as an operator runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from psycopg_pool import ConnectionPool

from services.cli import build_parser
from services.infra.postgres_env import PgTarget
from services.vault import PersonalField, SubjectShredded, VaultSettings, open_vault


def run_vault(argv: list[str]) -> int:
    """A ``prosperity vault`` subcommand as ``main`` dispatches it, without configuring logging: ``main`` binds
    structlog to the (captured, later closed) stderr of this test."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


@pytest.fixture
def operator_env(pg_schema: PgTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROSPERITY_PG_DSN", pg_schema.dsn)
    monkeypatch.setenv("PROSPERITY_PG_SCHEMA", pg_schema.schema)
    monkeypatch.setenv("PROSPERITY_DATA_DIR", str(tmp_path))
    return tmp_path


def test_the_operator_rotates_shreds_and_scans(pg_schema: PgTarget, operator_env: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    with ConnectionPool(pg_schema.dsn, min_size=1, max_size=2, kwargs={"autocommit": False}) as pool:
        vault = open_vault(pool, pg_schema.schema, VaultSettings())
        vault.put_fields("person:mum-9", {PersonalField.NAME: "Kolbrún Ösp"})
        vault.put_fields("person:dad-9", {PersonalField.NAME: "Hallgrímur"})
        assert run_vault(["vault", "rotate"]) == 0
        assert "re-wrapped 2 data keys" in capsys.readouterr().out
        assert sorted(p.name for p in (operator_env / "vault-keys").glob("*.key")) != ["k1.key"]
        assert run_vault(["vault", "shred", "person:mum-9", "--basis", "withdrawn_sharing_without_outcome"]) == 1
        assert "VAULT-SHRED-BASIS" in capsys.readouterr().err  # off by default (LegalSettings)
        assert run_vault(["vault", "shred", "person:mum-9", "--basis", "outside_archive_duty"]) == 0
        assert "1 fields, 0 documents; KEK rotated to" in capsys.readouterr().out
        reopened = open_vault(pool, pg_schema.schema, VaultSettings())  # a process started after both
        with pytest.raises(SubjectShredded):
            reopened.fields("person:mum-9")
        assert reopened.field("person:dad-9", PersonalField.NAME) == "Hallgrímur"
    assert run_vault(["vault", "scan", "--needle", "Kolbrún Ösp", "--needle", "Hallgrímur"]) == 0
    assert run_vault(["vault", "scan", "--needle", "person:dad-9"]) == 1  # a reference is where the vault keeps it
    assert f"in {pg_schema.schema}.vault_subject_keys" in capsys.readouterr().out
