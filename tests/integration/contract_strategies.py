"""Hypothesis strategies for the published contracts, built from the pydantic models themselves.

Each field's strategy comes from its annotation and constraints, so the values range over everything the contract
accepts (and nothing more): any calendar date from year 1 to 9999, any aware instant in any offset (including the
ends of the calendar, where a conversion to UTC leaves Python's range), integers from their lower to their upper
bound (unbounded ones included: hypothesis reaches far beyond 64 bits), any text without unpaired surrogates (the
event store's UTF-8 cannot hold those; NUL is allowed), strings of a pattern by the pattern, and every enum member
and literal. A contract changed in code changes what its property test draws.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from uuid import UUID

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from contracts.events import EventEnvelopeV1

OFFSETS = (UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12)), timezone(timedelta(hours=5, minutes=30)),
           timezone(timedelta(hours=-9, minutes=30)))
"""UTC and the extreme offsets: 0001-01-01T00:00+14:00 is an instant before Python's first UTC one."""
INSTANTS = st.one_of(
    st.datetimes(timezones=st.sampled_from(OFFSETS)),
    st.sampled_from([datetime.min.replace(tzinfo=offset) for offset in OFFSETS]
                    + [datetime.max.replace(tzinfo=offset) for offset in OFFSETS]),
)
DATES = st.one_of(st.dates(), st.sampled_from([date.min, date.max, date(1, 12, 31), date(9999, 1, 1)]))
TEXT = st.text(st.characters(codec="utf-8"), max_size=40)


def _flatten(metadata: Sequence[Any]) -> list[Any]:
    flat: list[Any] = []
    for item in metadata:
        flat += _flatten(item.metadata) if isinstance(item, FieldInfo) else [item]
    return flat


def _pattern(metadata: Sequence[Any]) -> str | None:
    return next((item.pattern for item in metadata if getattr(item, "pattern", None)), None)


def _integers(metadata: Sequence[Any]) -> st.SearchStrategy[int]:
    low: int | None = next((int(m.ge) for m in metadata if isinstance(m, Ge)), None)  # type: ignore[call-overload]
    low = next((int(m.gt) + 1 for m in metadata if isinstance(m, Gt)), low)  # type: ignore[call-overload]
    high: int | None = next((int(m.le) for m in metadata if isinstance(m, Le)), None)  # type: ignore[call-overload]
    high = next((int(m.lt) - 1 for m in metadata if isinstance(m, Lt)), high)  # type: ignore[call-overload]
    edges = [value for value in (low, high) if value is not None]
    return st.one_of(st.integers(min_value=low, max_value=high), *(st.just(edge) for edge in edges))


def values(annotation: Any, metadata: Sequence[Any] = ()) -> st.SearchStrategy[Any]:
    """Every value a field of this annotation (and constraints) accepts."""
    metadata = _flatten(metadata)
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *more = get_args(annotation)
        return values(inner, [*metadata, *more])
    if origin in (Union, types.UnionType):
        return st.one_of(*(values(arg, metadata) for arg in get_args(annotation)))
    if annotation is type(None):
        return st.none()
    if origin is Literal:
        return st.sampled_from(get_args(annotation))
    if origin in (list, tuple):
        low = next((m.min_length for m in metadata if isinstance(m, MinLen)), 0)
        high = min(next((m.max_length for m in metadata if isinstance(m, MaxLen)), 4), 4)
        return st.lists(values(get_args(annotation)[0]), min_size=low, max_size=max(high, low))
    if origin is dict:
        key, value = get_args(annotation)
        return st.dictionaries(values(key), values(value), max_size=3)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return records(annotation)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return st.sampled_from(list(annotation))
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return _integers(metadata)
    if annotation is str:
        pattern = _pattern(metadata)
        return st.from_regex(pattern, fullmatch=True) if pattern else TEXT
    if annotation is datetime:
        return INSTANTS
    if annotation is date:
        return DATES
    if annotation is UUID:
        return st.uuids()
    raise TypeError(f"no strategy for {annotation!r}")


def records(model: type[BaseModel], **fixed: Any) -> st.SearchStrategy[dict[str, Any]]:
    """A model's fields as a dict (``fixed`` fields as given), for ``model.model_validate``."""
    fields = {name: st.just(fixed[name]) if name in fixed else values(info.annotation, info.metadata)
              for name, info in model.model_fields.items()}
    return st.fixed_dictionaries(fields)


def contracts(model: type[EventEnvelopeV1], **fixed: Any) -> st.SearchStrategy[EventEnvelopeV1]:
    """Valid contracts of ``model``: drawn field by field, kept where the model's own validators accept them
    (the v1 references refuse a token that is exactly a national ID number)."""

    def build(data: dict[str, Any]) -> EventEnvelopeV1 | None:
        try:
            return model.model_validate(data)
        except ValueError:
            return None

    return records(model, **fixed).map(build).filter(lambda contract: contract is not None)  # type: ignore[return-value]
