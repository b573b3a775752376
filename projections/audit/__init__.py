"""The audit read model: an append-only, hash-chained trail per case, its verification against the event
store, the supervisor's questions (domain.md §5) and time travel."""

from projections.audit.projection import AuditProjection

__all__ = ["AuditProjection"]
