"""The event store at rest on real PostgreSQL: with ``PROSPERITY_EVENT_CIPHER_KEY`` set, every stored event's
state is AES-GCM ciphertext (eventsourcing's own cipher), the history reads back and the audit chain verifies;
without the key the state does not open."""

from __future__ import annotations

import io
import json

import psycopg
import pytest
from eventsourcing.cryptography import AESCipher
from pydantic import SecretStr

from projections.audit.projection import AuditProjection
from services.audit.cli import verify_command
from services.casework.application import Casework
from services.consumers.replay import published_events
from services.consumers.store import ReadModelStore
from services.infra.postgres_env import PgTarget
from services.settings import StoreSettings, with_event_cipher
from services.walkthrough import iceland_lifecycle


def _states(target: PgTarget) -> list[bytes]:
    with psycopg.connect(target.dsn) as conn:
        tables = [r[0] for r in conn.execute("SELECT table_name FROM information_schema.columns WHERE table_schema = %s"
                                             " AND column_name = 'state'", (target.schema,)).fetchall()]
        return [bytes(r[0]) for t in tables for r in conn.execute(f'SELECT state FROM "{target.schema}"."{t}"')]


def _is_json(state: bytes) -> bool:
    try:
        json.loads(state)
    except ValueError:
        return False
    return True


def test_stored_event_state_is_ciphertext_and_the_history_still_reads_and_verifies(pg_schema: PgTarget) -> None:
    settings = StoreSettings(pg_dsn=pg_schema.dsn, pg_schema=pg_schema.schema,
                             event_cipher_key=SecretStr(AESCipher.create_key(32)))
    app = Casework(with_event_cipher(pg_schema.eventsourcing_env(), settings))
    try:
        case_id = iceland_lifecycle(app)
        states = _states(pg_schema)
        assert len(states) > 10
        for plain in (b"person:", b"contact_registered", b"birth_date"):
            assert not any(plain in state for state in states), plain
        assert not any(_is_json(state) for state in states)  # not "starts with {": a random nonce byte may be
        assert app.get_case(case_id).version > 5
        events = list(published_events(app))
        store = ReadModelStore(pg_schema.dsn, AuditProjection(), base_schema=pg_schema.schema, pool_size=1)
        try:
            generation = store.setup()
            store.apply_many_to(generation.schema, events)
        finally:
            store.close()
        assert verify_command(settings, out=io.StringIO(), err=io.StringIO()) == 0
    finally:
        app.close()
    without_key = Casework(pg_schema.eventsourcing_env())
    try:
        with pytest.raises(Exception):  # noqa: B017 - the library's own JSON error on ciphertext
            without_key.get_case(case_id)
    finally:
        without_key.close()


def test_the_cipher_is_off_unless_a_key_is_configured(pg_schema: PgTarget) -> None:
    env = with_event_cipher(pg_schema.eventsourcing_env(), StoreSettings(pg_dsn=pg_schema.dsn))
    assert "CIPHER_TOPIC" not in env and "CIPHER_KEY" not in env
