"""Which projections the ``prosperity consume`` command can run, by name, or any ``module:Class``."""

from __future__ import annotations

import importlib

from projections.base import Projection

KNOWN = {
    "dashboard": "projections.dashboard.projection:DashboardProjection",
    "audit": "projections.audit.projection:AuditProjection",
    "notifications": "projections.notifications.projection:NotificationsProjection",
}


def load_projection(spec: str) -> Projection:
    """``dashboard`` → the dashboard projection; ``package.module:Class`` → that class, instantiated. Anything else
    (no such module or class, or a class that is no projection: ``os:system``) is a ``ValueError`` saying so, before
    anything is called."""
    target = KNOWN.get(spec, spec)
    module_name, _, class_name = target.partition(":")
    usage = f"use one of {', '.join(KNOWN)} or 'module:Class' of a projection"
    if not class_name:
        raise ValueError(f"Unknown projection {spec!r}; {usage}.")
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as error:
        raise ValueError(f"No projection {spec!r} ({error}); {usage}.") from None
    if not (isinstance(found, type) and callable(getattr(found, "apply", None))
            and all(isinstance(getattr(found, attribute, None), kind)
                    for attribute, kind in (("name", str), ("version", int), ("ddl", tuple)))):
        raise ValueError(f"{spec!r} is not a projection (a class with name, version, ddl and apply); {usage}.")
    projection: Projection = found()
    return projection
