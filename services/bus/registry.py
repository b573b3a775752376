"""The agency registry: which external agencies may read which facts from the bus.

An agency (a complaints body, a supervisor, a statistics office, another municipality's service) gets one
NATS account and one durable consumer whose filter is exactly its jurisdiction, municipalities and event types.
The registry is a TOML file (``deploy/nats/agencies.toml`` is the checked-in example, and the one
``prosperity up`` uses), validated here so that a typo is refused with the field and the rule instead of
silently widening or narrowing what an agency sees.

Why a file and not a table: the generated nats-server configuration is static (a new agency means a new
configuration and a reload, ``docs/nats-security.md``), so its source belongs under version control beside it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from contracts.events import DIRECTORY_EVENT_TYPES, EVENT_MODELS
from contracts.refs import MunicipalityRef
from contracts.subjects import directory_filter, municipality_filter, subject_for
from services.bus.keys import is_user_public_key

AgencyId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,39}$")]
"""Lower-case letters, digits and ``-``: it becomes an account name, a durable name and a file name."""


class RegistryError(ValueError):
    """The registry file cannot be used; the message names the file, the field and the rule."""


class Agency(BaseModel):
    """One agency and exactly what it may receive."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: AgencyId
    jurisdiction: Literal["IS", "NO"]
    municipalities: tuple[MunicipalityRef, ...] = Field(min_length=1, max_length=100)
    event_types: tuple[str, ...] | None = Field(default=None, min_length=1, max_length=100)
    """The event types it receives; omitted = every case event of its municipalities."""
    directory: bool = False
    """Also the coordinator directory (``directory.v1``) of its municipalities."""
    nkey: str | None = None
    """The agency's own nkey public key (``U…``), when it generated its key pair itself: its seed then never
    leaves the agency. Omitted: ``prosperity nats-config`` generates a seed to hand over."""
    ack_wait_seconds: float = Field(default=30.0, ge=1, le=3600)
    max_deliver: int = Field(default=5, ge=1, le=1000)

    @field_validator("municipalities", "event_types")
    @classmethod
    def _unique(cls, values: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if values is not None and len(set(values)) != len(values):
            raise ValueError("must not list the same value twice")
        return values

    @field_validator("event_types")
    @classmethod
    def _known_event_types(cls, values: tuple[str, ...] | None) -> tuple[str, ...] | None:
        unknown = sorted(set(values or ()) - set(EVENT_MODELS))
        if unknown:
            raise ValueError(f"unknown event types {unknown}; see contracts/schemas/ for the published ones")
        return values

    @field_validator("nkey")
    @classmethod
    def _user_public_key(cls, value: str | None) -> str | None:
        if value is not None and not is_user_public_key(value):
            raise ValueError("must be an nkey user public key (56 characters starting with 'U', from `nk -gen user`)")
        return value

    @property
    def account(self) -> str:
        """``gev-is`` → ``AGENCY_GEV_IS``."""
        return "AGENCY_" + self.id.upper().replace("-", "_")

    @property
    def durable(self) -> str:
        """The durable consumer prosperity creates for it in ``CASES``."""
        return f"agency-{self.id}"

    @model_validator(mode="after")
    def _directory_once(self) -> Self:
        listed = sorted(set(self.event_types or ()) & DIRECTORY_EVENT_TYPES)
        if self.directory and listed:
            raise ValueError(f"directory = true already includes {listed}; list them or set directory, not both")
        return self

    def filter_subjects(self, subject_prefix: str = "") -> tuple[str, ...]:
        """Every subject it may receive, e.g. ``cases.v1.is.reykjavik.complaint_lodged``; disjoint, as
        JetStream requires of a consumer's ``filter_subjects``."""
        filters: list[str] = []
        for municipality in self.municipalities:
            if self.event_types is None:
                filters.append(municipality_filter(self.jurisdiction, municipality))
            else:
                filters += [subject_for(event_type, self.jurisdiction, municipality) for event_type in self.event_types]
            if self.directory:
                filters.append(directory_filter(self.jurisdiction, municipality))
        unique = dict.fromkeys(filters)  # two references can share a token (``muni:a.b``, ``muni:a_b``)
        return tuple(f"{subject_prefix}.{f}" if subject_prefix else f for f in unique)


class AgencyRegistry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    agency: tuple[Agency, ...] = ()
    """``[[agency]]`` tables in the TOML file."""

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        ids = [agency.id for agency in self.agency]
        repeated = sorted({agency_id for agency_id in ids if ids.count(agency_id) > 1})
        if repeated:
            raise ValueError(f"agency ids must be unique; repeated: {repeated}")
        return self

    def get(self, agency_id: str) -> Agency:
        for agency in self.agency:
            if agency.id == agency_id:
                return agency
        raise KeyError(agency_id)


def load_registry(path: Path) -> AgencyRegistry:
    """Read and validate the registry; a :class:`RegistryError` names the file, the field and the rule."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise RegistryError(f"{path}: cannot read the agency registry ({error.strerror})") from error
    except tomllib.TOMLDecodeError as error:
        raise RegistryError(f"{path}: not valid TOML ({error})") from error
    try:
        return AgencyRegistry.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise RegistryError(f"{path}: {problems}") from error
