"""Read-model builders: pure functions from published events to rows (see ``projections.base``)."""
