"""How the domain's values are stored inside events (JSON, via eventsourcing's JSONTranscoder).

Why not the stock JSONTranscoder alone: Python's json module writes a ``StrEnum`` as a plain string, an
``IntEnum`` as a plain int and a tuple as a list *before* the transcoder's hook is asked, so a stored
``TeamOutcome.GOALS_MET`` would come back as ``"goals_met"`` and ``outcome is TeamOutcome.GOALS_MET``
would be False on replay. ``DomainJSONTranscoder`` tags those values first, then lets the library do
the rest; every other type goes through the library's own ``Transcoding`` registry.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from enum import Enum
from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder, Transcoding, TranscodingNotRegisteredError

from domain.case_iceland import IcelandStatus
from domain.case_norway import NorwayStatus
from domain.personal_data import ENUM_TYPES as RIGHTS_ENUM_TYPES
from domain.values import ENUM_TYPES, VALUE_TYPES

_JSON_NATIVE = (str, int, float, bool, type(None))
_CONTAINERS = (dict, list)


class DomainJSONTranscoder(JSONTranscoder):
    """The library's stored format (``{"_type_": name, "_data_": ...}`` tags, compact UTF-8 JSON), read and
    written with orjson. Why: the stdlib's encoder and its per-object ``object_hook`` were half of the relay's CPU
    and much of each replay; orjson parses and writes in C, and the tags are walked once in Python, bottom-up as
    ``object_hook`` does. The bytes are the same format, so events stored before decode unchanged (no migration)
    and the library's own ``JSONTranscoder`` still reads what this writes."""

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(self._tag(obj))

    def decode(self, data: bytes) -> Any:
        decoded = orjson.loads(data)
        return self._untag(decoded) if type(decoded) in _CONTAINERS else decoded

    def _tag(self, value: Any) -> Any:
        kind = type(value)
        if kind in _JSON_NATIVE:
            return value
        if kind is dict:
            return {key: self._tag(item) for key, item in value.items()}
        if kind is list:
            return [self._tag(item) for item in value]
        transcoding = self.types.get(kind)
        if transcoding is None:
            raise TranscodingNotRegisteredError(f"Object of type {kind} has no registered transcoding.")
        return {"_type_": transcoding.name, "_data_": self._tag(transcoding.encode(value))}

    def _untag(self, value: Any) -> Any:
        """Tags replaced by their values, inner first (as ``object_hook``), in place: the tree is orjson's own."""
        if type(value) is list:
            for index, item in enumerate(value):
                if type(item) in _CONTAINERS:
                    value[index] = self._untag(item)
            return value
        name = value.get("_type_")
        if name is not None and len(value) == 2 and "_data_" in value:
            transcoding = self.names.get(name)
            if transcoding is None:
                raise TranscodingNotRegisteredError(f"Data serialized with name {name!r} is not deserializable.")
            data = value["_data_"]
            return transcoding.decode(self._untag(data) if type(data) in _CONTAINERS else data)
        for key, item in value.items():
            if type(item) in _CONTAINERS:
                value[key] = self._untag(item)
        return value


def _dashed(hex_id: str) -> str:
    return f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"


def _utc_z(iso: str) -> str:
    return iso[:-6] + "Z" if iso.endswith("+00:00") else iso


_PLAIN_SPELLING = {"uuid_hex": _dashed, "datetime_iso": _utc_z}
"""How a tagged value is spelled in the published JSON when its stored spelling differs (pydantic's: dashed UUIDs,
``Z`` for UTC); every other tag's data is already the value's JSON (enums by value, tuples as lists, dates in ISO,
records as dicts of their fields)."""


def decode_plain(data: bytes) -> Any:
    """A stored fact's state as the JSON values its contract publishes, without making the domain's objects.

    Why: the relay and rebuilds only turn the domain's values back into JSON; decoding them into enums, dates and
    frozen dataclasses first (and validating the references again in their constructors) was a third of the
    relay's CPU per fact (py-spy, issue 14). Tags are replaced by their data in place, bottom-up."""
    decoded = orjson.loads(data)
    return _plain(decoded) if type(decoded) in _CONTAINERS else decoded


def _plain(value: Any) -> Any:
    if type(value) is list:
        for index, item in enumerate(value):
            if type(item) in _CONTAINERS:
                value[index] = _plain(item)
        return value
    name = value.get("_type_")
    if name is not None and len(value) == 2 and "_data_" in value:
        data = value["_data_"]
        if type(data) in _CONTAINERS:
            data = _plain(data)
        spell = _PLAIN_SPELLING.get(name)
        return data if spell is None else spell(data)
    for key, item in value.items():
        if type(item) in _CONTAINERS:
            value[key] = _plain(item)
    return value


class TupleAsList(Transcoding):
    type = tuple
    name = "tuple"

    def encode(self, obj: tuple[Any, ...]) -> list[Any]:
        return list(obj)

    def decode(self, data: list[Any]) -> tuple[Any, ...]:
        return tuple(data)


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class EnumAsValue(Transcoding):
    """An enumeration member stored by its value (the law's word), under the enum's class name."""

    def __init__(self, enum_type: type[Enum]) -> None:
        self.type = enum_type
        self.name = f"enum:{enum_type.__name__}"

    def encode(self, obj: Enum) -> Any:
        return obj.value

    def decode(self, data: Any) -> Enum:
        member: Enum = self.type(data)
        return member


class FrozenDataclassAsDict(Transcoding):
    """A frozen value dataclass stored as a dict of its fields; nested values are tagged in turn."""

    def __init__(self, value_type: type) -> None:
        self.type = value_type
        self.name = f"value:{value_type.__name__}"
        self.field_names = tuple(f.name for f in dataclasses.fields(value_type))

    def encode(self, obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self.field_names}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**data)


def register_domain_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(TupleAsList())
    transcoder.register(DateAsISO())
    # Snapshots hold the aggregates' own state, so the lifecycle statuses are stored too.
    for enum_type in (*ENUM_TYPES, IcelandStatus, NorwayStatus, *RIGHTS_ENUM_TYPES):
        transcoder.register(EnumAsValue(enum_type))
    for value_type in VALUE_TYPES:
        transcoder.register(FrozenDataclassAsDict(value_type))
