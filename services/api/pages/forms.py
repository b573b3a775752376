"""Forms generated from the command models (``contracts.commands`` through ``services.api.routes``), and the
form's answer turned back into the JSON body the API would receive.

Generated, not written per command, so a command added to the route table gets its form with nothing else to do.
The mapping from pydantic field types: text for strings (references, ids and codes, with the grammar's prefix as
the placeholder), ``number`` for integers (their bounds as ``min``/``max``), ``date`` for calendar dates, text
for RFC 3339 instants, a checkbox for booleans, a ``select`` for enumerations, checkboxes for a tuple of
enumeration values, a ``fieldset`` for a nested model, and repeated inputs (or repeated fieldsets) for tuples; a
mapping keyed by an enumeration (a support plan's ``not_applicable``) is one input per key. The browser does not
validate (no ``pattern``, no ``required``): the same pydantic model as the API's decides, so the page shows the
API's own 422 field errors next to the inputs.
"""

from __future__ import annotations

import enum
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Union, get_args, get_origin

from annotated_types import Ge, Le
from pydantic import BaseModel
from pydantic.fields import FieldInfo

ROWS = 3
"""Empty rows offered for a tuple (more with ``?rows=``, up to :data:`MAX_ROWS`); empty rows are dropped."""
MAX_ROWS = 20
_PREFIX = re.compile(r"^\^([a-z]+):")


@dataclass(frozen=True)
class Input:
    name: str
    """The body field's dotted path (``content.objectives``), the name the API's 422 errors use."""
    label: str
    kind: str
    """text, number, date, instant, checkbox, select, choices, fieldset, rows, list, keyed."""
    optional: bool = False
    options: tuple[str, ...] = ()
    children: tuple[Input, ...] = ()
    placeholder: str = ""
    minimum: int | None = None
    maximum: int | None = None
    default: Any = None
    description: str = ""

    @property
    def id(self) -> str:
        return "f-" + self.name.replace(".", "-")


def _label(name: str) -> str:
    text = name.replace("_refs", "").replace("_ref", "").replace("_", " ")
    return text[:1].upper() + text[1:]


def _unwrap(annotation: Any) -> tuple[Any, list[Any], bool]:
    """(the bare type, its metadata, optional?) of an annotation such as ``Annotated[str, ...] | None``."""
    metadata: list[Any] = []
    optional = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *more = get_args(annotation)
            metadata += more
        elif origin in (Union, types.UnionType):
            arms = [a for a in get_args(annotation) if a is not type(None)]
            optional = optional or len(arms) < len(get_args(annotation))
            annotation = arms[0] if len(arms) == 1 else str
        else:
            return annotation, metadata, optional


def _placeholder(metadata: list[Any], bare: Any) -> str:
    for item in metadata:
        extra = getattr(item, "json_schema_extra", None)
        if isinstance(extra, dict) and isinstance(extra.get("pattern"), str):
            found = _PREFIX.match(extra["pattern"])
            if found:
                return f"{found.group(1)}:…"
            return "a-code" if "_" not in extra["pattern"] else "code_or_id"
    if bare is date:
        return "YYYY-MM-DD"
    if bare is datetime:
        return "2025-03-04T10:15:00Z"
    return ""


def _bound(metadata: list[Any], kind: type[Ge] | type[Le]) -> int | None:
    for item in metadata:
        bound: Any = item.ge if isinstance(item, Ge) and kind is Ge else \
            item.le if isinstance(item, Le) and kind is Le else None
        if isinstance(bound, int):
            return bound
    return None


def _input(name: str, annotation: Any, info: FieldInfo | None, rows: int) -> Input:
    bare, metadata, optional = _unwrap(annotation)
    metadata += list(info.metadata) if info is not None else []
    label = _label(name.rsplit(".", 1)[-1])
    default = None if info is None or info.is_required() else info.get_default(call_default_factory=True)
    default = default.value if isinstance(default, enum.Enum) else None if isinstance(default, tuple | list | dict) \
        else default
    optional = optional or (info is not None and not info.is_required())
    description = (info.description or "") if info is not None else ""
    common: dict[str, Any] = {"optional": optional, "default": default, "description": description}
    origin = get_origin(bare)
    if isinstance(bare, type) and issubclass(bare, BaseModel):
        return Input(name, label, "fieldset", children=model_inputs(bare, rows, prefix=f"{name}."), **common)
    if isinstance(bare, type) and issubclass(bare, enum.Enum):
        return Input(name, label, "select", options=tuple(str(m.value) for m in bare), **common)
    if origin is tuple:
        item, _, _ = _unwrap(get_args(bare)[0])
        if isinstance(item, type) and issubclass(item, enum.Enum):
            return Input(name, label, "choices", options=tuple(str(m.value) for m in item), **common)
        if isinstance(item, type) and issubclass(item, BaseModel):
            children = tuple(model_inputs(item, rows, prefix=f"{name}.{i}.") for i in range(rows))
            return Input(name, label, "rows", children=tuple(Input(f"{name}.{i}", f"{label} {i + 1}", "fieldset",
                                                                   children=row, optional=True)
                                                             for i, row in enumerate(children)), **common)
        element = _input(f"{name}", get_args(bare)[0], None, rows)
        return Input(name, label, "list", children=(element,) * rows, placeholder=element.placeholder,
                     options=element.options, **common)
    if origin is dict:
        key = get_args(bare)[0]
        keys = tuple(str(m.value) for m in key) if isinstance(key, type) and issubclass(key, enum.Enum) else ()
        return Input(name, label, "keyed", children=tuple(Input(f"{name}.{k}", k, "text", optional=True,
                                                                placeholder="reason_code") for k in keys), **common)
    if bare is bool:
        return Input(name, label, "checkbox", **common)
    if bare is int:
        return Input(name, label, "number", minimum=_bound(metadata, Ge), maximum=_bound(metadata, Le), **common)
    kind = "date" if bare is date else "instant" if bare is datetime else "text"
    return Input(name, label, kind, placeholder=_placeholder(metadata, bare), **common)


def model_inputs(model: type[BaseModel], rows: int = ROWS, prefix: str = "") -> tuple[Input, ...]:
    """The inputs of a body model, in its field order."""
    return tuple(_input(f"{prefix}{name}", info.annotation, info, rows) for name, info in model.model_fields.items())


# ---- the answer -------------------------------------------------------------------------------------------
class Answer:
    """A submitted form (``multipart`` or urlencoded) as lists of strings by name."""

    def __init__(self, values: Mapping[str, list[str]]) -> None:
        self.values = values

    def first(self, name: str) -> str:
        found = self.values.get(name) or [""]
        return found[0].strip()

    def all(self, name: str) -> list[str]:
        return [v.strip() for v in self.values.get(name, [])]

    def mentions(self, prefix: str) -> bool:
        return any(k.startswith(prefix) and any(v.strip() for v in vs) for k, vs in self.values.items())


def _scalar(field: Input, raw: str) -> Any:
    if raw == "":
        return None
    if field.kind == "number":
        try:
            return int(raw)
        except ValueError:
            return raw  # the model refuses it, naming the field
    return raw


def _value(field: Input, answer: Answer) -> tuple[bool, Any]:
    """(present?, value) of one input: absent optional values are left out, so the model's default applies."""
    if field.kind == "checkbox":
        return True, bool(answer.all(field.name))
    if field.kind == "fieldset":
        if field.optional and not answer.mentions(field.name + "."):
            return False, None
        return True, body(field.children, answer)
    if field.kind == "rows":
        return True, [body(row.children, answer) for row in field.children if answer.mentions(row.name + ".")]
    if field.kind in ("list", "choices"):
        return True, [_scalar(field, v) for v in answer.all(field.name) if v]
    if field.kind == "keyed":
        return True, {c.name.rsplit(".", 1)[-1]: answer.first(c.name) for c in field.children if answer.first(c.name)}
    value = _scalar(field, answer.first(field.name))
    if value is None and field.optional:
        return (field.default is None), None
    return True, value


def body(fields: tuple[Input, ...], answer: Answer) -> dict[str, Any]:
    """The JSON body the API would receive for this answer (the same model then validates it)."""
    result: dict[str, Any] = {}
    for field in fields:
        present, value = _value(field, answer)
        if present:
            result[field.name.rsplit(".", 1)[-1]] = value
    return result
