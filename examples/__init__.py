"""Examples for external agencies subscribing to the published events (see docs/subscribing.md)."""
