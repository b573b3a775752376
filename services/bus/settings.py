"""How one process reaches the bus as its own identity: the one settings shape every NATS client here uses.

The relay (``RelaySettings``), the read-model consumers (``ConsumerSettings``), the provisioning step and the
API's readiness probe all read these ``PROSPERITY_*`` variables; each process is given the seed file of *its*
identity (``prosperity up`` does this, ``deploy/`` mounts one secret per process):

==================================  ============================================================================
``PROSPERITY_NATS_URL``             one URL, or several comma-separated (the nodes of a cluster)
``PROSPERITY_NATS_SEED_FILE``       the identity's nkey seed (what ``prosperity nats-config`` writes)
``PROSPERITY_NATS_CREDS_FILE``      or a JWT ``.creds`` file, for a server run in operator (JWT) mode
``PROSPERITY_NATS_USER`` / ``…PASSWORD``  or a user and password, for a server configured by hand
``PROSPERITY_NATS_TLS_CA_FILE``     the CA that signed the server's certificate (``tls://`` or a TLS server)
``PROSPERITY_NATS_TLS_CERT_FILE`` / ``…KEY_FILE``  a client certificate, when the server verifies clients
``PROSPERITY_NATS_INBOX_PREFIX``    override of ``_INBOX_<identity>`` (what the generated permissions allow)
``PROSPERITY_NATS_JS_API_PREFIX``   a read model's JetStream API prefix: ``prosperity.API`` (its account's
                                    import of ``APP``'s) when it has a seed or creds file, else ``$JS.API``
==================================  ============================================================================

None of the credentials set means an anonymous connection: only for a NATS server without authorization.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Self

import structlog
from faststream.nats.security import NatsCredentials, NatsNKey, NatsSecurity, NatsUserPassword
from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.subjects import DEADLETTER_STREAM_NAME, STREAM_NAME
from services.bus.plan import AGENCY_JS_API_PREFIX, Namespace, inbox_prefix

log = structlog.get_logger("bus")


class BusSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROSPERITY_", extra="ignore")

    nats_url: str = "nats://127.0.0.1:4222"
    nats_seed_file: Path | None = None
    nats_creds_file: Path | None = None
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    nats_tls_ca_file: Path | None = None
    nats_tls_cert_file: Path | None = None
    nats_tls_key_file: Path | None = None
    nats_inbox_prefix: str | None = None
    nats_js_api_prefix: str | None = None
    stream_name: str = STREAM_NAME
    subject_prefix: str = ""
    """Prepended (with a dot) to every subject and to the streams' subjects. Empty in production; tests give
    each test its own, so that the generated permissions are exercised with the namespace as a parameter."""
    deadletter_stream_name: str = DEADLETTER_STREAM_NAME

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> Self:
        given = [name for name, value in (("PROSPERITY_NATS_SEED_FILE", self.nats_seed_file),
                                          ("PROSPERITY_NATS_CREDS_FILE", self.nats_creds_file),
                                          ("PROSPERITY_NATS_USER", self.nats_user)) if value]
        if len(given) > 1:
            raise ValueError(f"set one way to authenticate to NATS, not {' and '.join(given)}")
        if (self.nats_password is None) != (self.nats_user is None):
            raise ValueError("PROSPERITY_NATS_USER and PROSPERITY_NATS_PASSWORD go together")
        if (self.nats_tls_cert_file is None) != (self.nats_tls_key_file is None):
            raise ValueError("PROSPERITY_NATS_TLS_CERT_FILE and PROSPERITY_NATS_TLS_KEY_FILE go together")
        return self

    @property
    def servers(self) -> list[str]:
        return [url.strip() for url in self.nats_url.split(",") if url.strip()]

    @property
    def has_identity(self) -> bool:
        return bool(self.nats_seed_file or self.nats_creds_file or self.nats_user)

    @property
    def namespace(self) -> Namespace:
        return Namespace(stream=self.stream_name, subject_prefix=self.subject_prefix,
                         deadletter_stream=self.deadletter_stream_name)

    def subject(self, subject: str) -> str:
        """The subject as published: the contract's subject under :attr:`subject_prefix`."""
        return f"{self.subject_prefix}.{subject}" if self.subject_prefix else subject

    def inbox_prefix(self, identity: str) -> str:
        return self.nats_inbox_prefix or inbox_prefix(identity)

    def reader_js_api_prefix(self) -> str:
        """Where a read model (an identity outside ``APP``, ``services.bus.plan``) finds the JetStream API: with
        the generated credentials, the import into its own account; on a NATS without them, the server's own."""
        if self.nats_js_api_prefix:
            return self.nats_js_api_prefix
        return AGENCY_JS_API_PREFIX if self.nats_seed_file or self.nats_creds_file else "$JS.API"

    def subscriber_inbox_prefix(self, identity: str) -> bytes:
        """For faststream's ``@broker.subscriber(inbox_prefix=…)``: the subscriber has its own default
        (``_INBOX.``) and ignores the connection's (tech note §6)."""
        return f"{self.inbox_prefix(identity)}.".encode()

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.nats_tls_ca_file is None and self.nats_tls_cert_file is None:
            return None
        context = ssl.create_default_context(cafile=str(self.nats_tls_ca_file) if self.nats_tls_ca_file else None)
        if self.nats_tls_cert_file and self.nats_tls_key_file:
            context.load_cert_chain(str(self.nats_tls_cert_file), str(self.nats_tls_key_file))
        return context

    def connect_options(self, identity: str) -> dict[str, Any]:
        """Keyword arguments for ``nats.connect`` (``servers`` included) as ``identity``."""
        options: dict[str, Any] = {"servers": self.servers, "inbox_prefix": self.inbox_prefix(identity),
                                   "name": f"prosperity-{identity}"}
        if (context := self.ssl_context()) is not None:
            options["tls"] = context
        if self.nats_seed_file:
            options["nkeys_seed"] = str(self.nats_seed_file)
        elif self.nats_creds_file:
            options["user_credentials"] = str(self.nats_creds_file)
        elif self.nats_user and self.nats_password:
            options |= {"user": self.nats_user, "password": self.nats_password.get_secret_value()}
        return options

    def security(self) -> NatsSecurity | None:
        context = self.ssl_context()
        if self.nats_seed_file:
            return NatsNKey.from_file(self.nats_seed_file, ssl_context=context)
        if self.nats_creds_file:
            return NatsCredentials.from_file(self.nats_creds_file, ssl_context=context)
        if self.nats_user and self.nats_password:
            return NatsUserPassword(self.nats_user, self.nats_password.get_secret_value(), ssl_context=context)
        return NatsSecurity(ssl_context=context) if context else None

    def broker_options(self, identity: str) -> dict[str, Any]:
        """Keyword arguments for faststream's ``NatsBroker`` as ``identity``: servers, credentials, inbox
        prefix, and callbacks that log a refused permission (nats-py reports it only to ``error_cb``; without
        one a missing permission looks like a slow server, tech note §5)."""
        return {"servers": self.servers, "security": self.security(), "inbox_prefix": self.inbox_prefix(identity),
                "name": f"prosperity-{identity}", **connection_callbacks(identity)}


def connection_callbacks(identity: str) -> dict[str, Any]:
    """``error_cb``, ``disconnected_cb``, ``reconnected_cb`` that log under ``bus.*`` with the identity."""

    async def on_error(error: Exception) -> None:
        event = "bus.permission_violation" if "permissions violation" in str(error).lower() else "bus.error"
        log.warning(event, identity=identity, error=str(error))

    async def on_disconnected() -> None:
        log.warning("bus.disconnected", identity=identity)

    async def on_reconnected() -> None:
        log.info("bus.reconnected", identity=identity)

    return {"error_cb": on_error, "disconnected_cb": on_disconnected, "reconnected_cb": on_reconnected}
