"""Errors the domain raises. Each names the rule of the law it enforces, so a caller can act on it."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""


class RuleViolation(DomainError):
    """A command was refused because a rule of the law (or of our documented design) forbids it.

    ``rule_id`` is stable (``IS-INV-6``, ``NO-R3``) so an HTTP 409, a log line and an audit report can
    all cite the same rule; ``remedy`` says what would make the command allowed.
    """

    def __init__(self, rule_id: str, reason: str, remedy: str = "") -> None:
        self.rule_id = rule_id
        self.reason = reason
        self.remedy = remedy
        text = f"[{rule_id}] {reason}"
        super().__init__(f"{text} Remedy: {remedy}" if remedy else text)


class InvalidValue(DomainError, ValueError):
    """A value that is malformed in itself (a field and the rule it breaks), before any rule of the law."""

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")
