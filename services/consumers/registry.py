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
    """``dashboard`` → the dashboard projection; ``package.module:Class`` → that class, instantiated."""
    target = KNOWN.get(spec, spec)
    module_name, _, class_name = target.partition(":")
    if not class_name:
        raise ValueError(f"Unknown projection {spec!r}; use one of {', '.join(KNOWN)} or 'module:Class'.")
    projection: Projection = getattr(importlib.import_module(module_name), class_name)()
    return projection
