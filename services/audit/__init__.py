"""Operational commands around the audit read model (``prosperity audit …``)."""
