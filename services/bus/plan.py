"""The permission table: every identity on the bus, and exactly what it may publish and subscribe to.

This module is the one statement of least privilege (issue 10; ``docs/nats-security.md`` shows the same table):

=================  ===========================================================================================
identity           may
=================  ===========================================================================================
``relay``          in its own account ``RELAY``: publish the facts (``cases.v1.>``, ``directory.v1.>``) through a
                   service import from ``APP`` and nothing else; receive its PubAcks on its own inbox prefix.
                   Being the only publisher defeats a forged fact and the ``Nats-Msg-Id`` pre-emption
                   (JetStream's duplicate window does not care who published).
consumer *c*       in its own account ``RM_c``: pull from its own durable *c* (``MSG.NEXT``, ``INFO``), acknowledge
                   it, and publish dead letters under ``deadletter.c.>``, through service imports from ``APP``,
                   as an agency does.
``api``            connect, nothing else: the HTTP API's readiness probe sees whether the bus is reachable.
``admin``          the JetStream API (create, update, delete streams and consumers): used by
                   ``prosperity nats-provision`` and operators, held by no running service. It cannot
                   publish facts either.
agency *a*         in its own account: pull from the durable ``agency-a`` that ``admin`` created with the
                   agency's filter, and acknowledge it, through two service imports from ``APP``; nothing of
                   ``APP`` is visible to it (not ``>``, not the JetStream API, not other agencies' inboxes).
=================  ===========================================================================================

Allow-lists only: a deny-list leaves everything else allowed (tech note §8.1). Each ``APP`` user subscribes
only under ``_INBOX_<name>``, because ``_INBOX.>`` in one account is shared and would show other users'
pull deliveries (tech note §8.3).

Why every reader is in an account of its own: subject permissions never look at a message's *reply* subject,
and JetStream answers a pull request (its "no messages" status, an ack's confirmation) on whatever reply subject
the request named. A reader in ``APP`` could name ``cases.v1.…`` or another read model's ``deadletter.…`` as the
reply, and the server itself wrote an empty message into ``CASES`` or ``DEADLETTERS`` for it (found by a black-box
probe). A request that crosses a service import has its reply subject rewritten to one of the import's own, so
the answer can only ever go back to the reader. The relay is in an account of its own for the same reason: a fact
it published with a ``deadletter.…`` reply had its PubAck stored in ``DEADLETTERS``, which it may not write to.

Agencies (and the read models) reach their consumer's JetStream API under :data:`AGENCY_JS_API_PREFIX`
(``nc.jetstream(prefix=…)``) instead of ``$JS.API``: a request on ``$JS.API.…`` is answered by the agency
account's own (disabled) JetStream, while a request on the prefix crosses the import to ``APP``. That is what lets
an agency call ``CONSUMER.INFO`` and so use ``pull_subscribe(durable=…)`` and faststream, not only
``pull_subscribe_bind``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.subjects import DEADLETTER_STREAM_NAME, DEADLETTER_SUBJECTS, STREAM_NAME, STREAM_SUBJECTS
from services.bus.registry import Agency, AgencyRegistry

APP_ACCOUNT = "APP"
RELAY_ACCOUNT = "RELAY"
AGENCY_JS_API_PREFIX = "prosperity.API"
"""The JetStream API prefix of every identity outside ``APP``: agencies, and the read models too."""
RELAY, ADMIN, API = "relay", "admin", "api"
RESERVED = frozenset({RELAY, ADMIN, API})
DEFAULT_CONSUMERS = ("dashboard", "audit", "notifications")
"""The read models ``prosperity consume`` runs (``services.consumers.registry.KNOWN``)."""
IdentityName = str

Role = Literal["relay", "admin", "probe", "consumer", "agency"]


def inbox_prefix(identity: IdentityName) -> str:
    """``_INBOX_<identity>``: the only subjects a prosperity identity may subscribe to (``…>``); an agency keeps
    its own account's ``_INBOX``."""
    return f"_INBOX_{identity}"


class Namespace(BaseModel):
    """Where the system's messages live: production uses the defaults; tests one namespace each."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stream: str = Field(default=STREAM_NAME, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    subject_prefix: str = Field(default="", pattern=r"^([a-z0-9_-]{1,64})?$")
    deadletter_stream: str = Field(default=DEADLETTER_STREAM_NAME, pattern=r"^[A-Za-z0-9_-]{1,64}$")

    def subject(self, subject: str) -> str:
        return f"{self.subject_prefix}.{subject}" if self.subject_prefix else subject

    @property
    def fact_subjects(self) -> tuple[str, ...]:
        return tuple(self.subject(subject) for subject in STREAM_SUBJECTS)

    @property
    def deadletter_subjects(self) -> tuple[str, ...]:
        return tuple(self.subject(subject) for subject in DEADLETTER_SUBJECTS)

    def consumer_filter(self) -> str:
        """What an internal read model consumes: every v1 fact (``*.v1.>``)."""
        return self.subject("*.v1.>")


class ConsumerSpec(BaseModel):
    """An internal read-model consumer: its identity, durable and dead-letter subjects share one name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$")
    ack_wait_seconds: float = Field(default=30.0, gt=0, le=3600)
    """A replica that dies holding messages gives them back after this long."""
    max_deliver: int = Field(default=10, ge=2, le=1000)
    """A backstop only: the runtime quarantines a fact that keeps failing at its third delivery and parks a
    case's later versions (acknowledged), so nothing is redelivered forever (issue 11)."""


class Permissions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()

    def to_config(self) -> dict[str, Any]:
        """The nats-server form. Nothing to allow is written as a deny of everything: an empty allow-list
        would mean "no restriction"."""
        return {kind: ({"allow": list(subjects)} if subjects else {"deny": [">"]})
                for kind, subjects in (("publish", self.publish), ("subscribe", self.subscribe))}


class Identity(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: IdentityName
    role: Role
    account: str
    public_key: str
    permissions: Permissions
    inbox_prefix: str
    """What the client must pass as ``inbox_prefix`` (agencies: the default ``_INBOX``, their own account's)."""
    js_api_prefix: str | None = None
    """What the client must pass as ``nc.jetstream(prefix=…)``: set for an identity outside ``APP``."""


class Durable(BaseModel):
    """A durable pull consumer ``admin`` creates in the stream; its filter is the boundary of what it reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    filter_subjects: tuple[str, ...]
    ack_wait_seconds: float
    max_deliver: int
    """Bounded for every durable: read models quarantine and park in their own tables rather than wait in
    redeliveries; an agency's bound comes from the registry."""


class AgencyGrant(BaseModel):
    """An account outside ``APP`` (an agency's, a read model's or the relay's) and the ``APP`` service subjects
    exported to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agency_id: str
    account: str
    durable: str
    """Its durable consumer; empty for the relay's account, which only publishes."""
    services: tuple[str, ...]
    """``$JS.API.CONSUMER.MSG.NEXT…``, ``$JS.API.CONSUMER.INFO…`` and ``$JS.ACK…`` of its durable, in ``APP`` (the
    relay's: the fact subjects)."""

    def local_subject(self, service: str) -> str:
        """The subject the agency publishes to: its JetStream API under :data:`AGENCY_JS_API_PREFIX`."""
        return service.replace("$JS.API", AGENCY_JS_API_PREFIX, 1) if service.startswith("$JS.API.") else service


class BusPlan(BaseModel):
    """Everything the generated configuration and the provisioning step need; written as ``bus.json``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    namespace: Namespace
    identities: tuple[Identity, ...]
    durables: tuple[Durable, ...]
    agencies: tuple[AgencyGrant, ...]
    read_models: tuple[AgencyGrant, ...] = ()
    """Each read model's account and what it imports (its durable's pull, info, ack, and its dead letters)."""
    relay: AgencyGrant | None = None
    """The relay's account and what it imports: the fact subjects (None in a plan written before it had one)."""

    def identity(self, name: IdentityName) -> Identity:
        for identity in self.identities:
            if identity.name == name:
                return identity
        raise KeyError(f"no identity {name!r} on this bus; known: {[i.name for i in self.identities]}")

    def accounts(self) -> dict[str, Any]:
        """The ``accounts`` block of the nats-server configuration."""
        app_users = [_user(i) for i in self.identities if i.account == APP_ACCOUNT]
        exports: list[dict[str, Any]] = []
        accounts: dict[str, Any] = {}
        for grant in (*self.agencies, *self.read_models, *((self.relay,) if self.relay else ())):
            for service in grant.services:
                export: dict[str, Any] = {"service": service, "accounts": [grant.account]}
                if ".MSG.NEXT." in service:
                    export["response_type"] = "stream"  # one pull request, many messages back
                exports.append(export)
            accounts[grant.account] = {
                "users": [_user(i) for i in self.identities if i.account == grant.account],
                "imports": [{"service": {"account": APP_ACCOUNT, "subject": s}, "to": grant.local_subject(s)}
                            for s in grant.services],
            }
        app: dict[str, Any] = {"jetstream": "enabled", "users": app_users}
        if exports:
            app["exports"] = exports
        return {APP_ACCOUNT: app, **accounts}


def _user(identity: Identity) -> dict[str, Any]:
    return {"nkey": identity.public_key, "permissions": identity.permissions.to_config()}


def read_model_services(namespace: Namespace, name: str) -> tuple[str, ...]:
    stream = namespace.stream
    return (f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{name}", f"$JS.API.CONSUMER.INFO.{stream}.{name}",
            f"$JS.ACK.{stream}.{name}.>", namespace.subject(f"deadletter.{name}.>"))


def read_model_account(name: str) -> str:
    return f"RM_{name}"


def agency_services(namespace: Namespace, agency: Agency) -> tuple[str, ...]:
    stream, durable = namespace.stream, agency.durable
    return (f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}", f"$JS.API.CONSUMER.INFO.{stream}.{durable}",
            f"$JS.ACK.{stream}.{durable}.>")


def plan_bus(namespace: Namespace, consumers: Sequence[ConsumerSpec], registry: AgencyRegistry,
             public_key: Callable[[IdentityName], str]) -> BusPlan:
    """The whole table for one namespace. ``public_key(name)`` gives each identity's nkey (generating it if
    needed); an agency that brought its own key (``nkey`` in the registry) is not asked for."""
    names = [c.name for c in consumers]
    clash = sorted((set(names) & RESERVED) | {n for n in names if names.count(n) > 1})
    if clash:
        raise ValueError(f"consumer names must be unique and not one of {sorted(RESERVED)}: {clash}")

    def app_identity(name: str, role: Role, permissions: Permissions) -> Identity:
        return Identity(name=name, role=role, account=APP_ACCOUNT, public_key=public_key(name),
                        permissions=permissions, inbox_prefix=inbox_prefix(name))

    relay = AgencyGrant(agency_id=RELAY, account=RELAY_ACCOUNT, durable="", services=namespace.fact_subjects)
    identities = [
        _reader(RELAY, "relay", relay, public_key(RELAY), inbox_prefix(RELAY), js_api_prefix=None),  # publishes only
        app_identity(ADMIN, "admin", Permissions(publish=("$JS.API.>", "$JS.ACK.>", "$JS.FC.>"),
                                                 subscribe=(f"{inbox_prefix(ADMIN)}.>",))),
        app_identity(API, "probe", Permissions()),
    ]
    read_models = []
    for c in consumers:
        grant = AgencyGrant(agency_id=c.name, account=read_model_account(c.name), durable=c.name,
                            services=read_model_services(namespace, c.name))
        read_models.append(grant)
        identities.append(_reader(c.name, "consumer", grant, public_key(c.name), inbox_prefix(c.name)))
    durables = [Durable(name=c.name, filter_subjects=(namespace.consumer_filter(),),
                        ack_wait_seconds=c.ack_wait_seconds, max_deliver=c.max_deliver) for c in consumers]
    grants = []
    for agency in registry.agency:
        services = agency_services(namespace, agency)
        grant = AgencyGrant(agency_id=agency.id, account=agency.account, durable=agency.durable, services=services)
        grants.append(grant)
        identities.append(_reader(agency.durable, "agency", grant, agency.nkey or public_key(agency.durable),
                                  "_INBOX"))
        durables.append(Durable(name=agency.durable, filter_subjects=agency.filter_subjects(namespace.subject_prefix),
                                ack_wait_seconds=agency.ack_wait_seconds, max_deliver=agency.max_deliver))
    return BusPlan(namespace=namespace, identities=tuple(identities), durables=tuple(durables), agencies=tuple(grants),
                   read_models=tuple(read_models), relay=relay)


def _reader(name: str, role: Role, grant: AgencyGrant, key: str, inbox: str,
            js_api_prefix: str | None = AGENCY_JS_API_PREFIX) -> Identity:
    """An identity alone in its account: it publishes only to its imports, and receives on its inboxes (an
    agency on the default ``_INBOX``; a read model and the relay keep ``_INBOX_<name>``, what their processes are
    configured with)."""
    return Identity(name=name, role=role, account=grant.account, public_key=key,
                    permissions=Permissions(publish=tuple(grant.local_subject(s) for s in grant.services),
                                            subscribe=(f"{inbox}.>",)),
                    inbox_prefix=inbox, js_api_prefix=js_api_prefix)
