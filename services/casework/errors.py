"""Errors of the application layer: what is not a rule of the law but still refuses a command."""

from __future__ import annotations

from uuid import UUID

from domain.errors import DomainError, RuleViolation


class CaseNotFound(DomainError):
    def __init__(self, case_id: UUID) -> None:
        self.case_id = case_id
        super().__init__(f"No case {case_id}.")


class InstitutionNotFound(DomainError):
    def __init__(self, org_ref: str) -> None:
        self.org_ref = org_ref
        super().__init__(f"No institution {org_ref} in the coordinator directory.")


class AlreadyExists(DomainError):
    """Opening a case (child, episode) or registering an institution that already exists. ``jurisdiction`` is the
    case's country when a case's natural key was taken: the refusal says a case exists, so it is a read of case data
    (the read-access log records it, where that country's supervisors see who asked)."""

    def __init__(self, message: str, *, jurisdiction: str | None = None) -> None:
        super().__init__(message)
        self.jurisdiction = jurisdiction


class ConcurrencyConflict(DomainError):
    """Someone else changed the case first, and the command cannot simply be applied on top.

    Either the caller asked for a specific version (``If-Match``) that is no longer current, or the
    command was retried on the new version and a rule of the law now refuses it (``cause``)."""

    def __init__(self, case_id: UUID, expected_version: int | None, actual_version: int,
                 cause: RuleViolation | None = None) -> None:
        self.case_id, self.expected_version, self.actual_version, self.cause = (
            case_id, expected_version, actual_version, cause)
        if cause is not None:
            text = (f"Case {case_id} changed concurrently (now version {actual_version}) and the command is no "
                    f"longer allowed: {cause}")
        elif expected_version is not None:
            text = f"Case {case_id} is at version {actual_version}, not the expected {expected_version}."
        else:
            text = f"Case {case_id} kept changing concurrently (now version {actual_version}); gave up retrying."
        super().__init__(text + " Reload the case and decide again.")
