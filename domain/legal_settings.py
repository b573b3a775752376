"""Values the law leaves open, as configuration with documented defaults (domain.md §3 'unknown').

Nothing here is invented as a constant of the law: each field says whether its default is verified in a
source ([V]), an inferred design choice for product owners to confirm ([I]) or simply unknown, in which
case the default is the cautious one (block, or do not enforce) until legal review.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LegalSettings:
    age_of_majority_years: int = 18
    """[V-sec] Act 86/2021 bill Art. 2(2): a child is a person under 18; NO: the barnekoordinator right is under 18."""

    child_may_request_integration_alone: bool = False
    """unknown (domain.md §1.2, §2.3 row 6): the age at which a child may request integration without the
    parents. Blocked until legal review; a municipality that has that review may switch it on."""

    level1_written_plan_required: bool = False
    """unknown (domain.md §2.3 row 11): whether first-level integration needs a written plan. Optional."""

    age_out_override_allowed: bool = True
    """[I] (domain.md §2.3 row 23): a team concluded as 'age_out' without an adult transition plan is refused
    unless an override reason is given; set False to refuse it outright."""

    t1_contact_family_working_days: int | None = 5
    """[I] T1 'as soon as possible' (V-sec litlakms.is); numeric value unknown, suggested 5 working days."""

    t2_case_manager_appointment_days: int | None = None
    """unknown T2; None means no deadline is enforced or warned about."""

    t3_plan_drafting_days: int | None = None
    """unknown T3 ('as soon as possible', seed 000); None means not enforced."""

    deadline_warning_days: int = 3
    """[I] how many days before a T2, T3 or T9-18 due date the clock raises its warning (0: no warning)."""

    escalation_after_breach_days: int = 7
    """[I] how many days after a T2, T3 or T4 breach, still unmet, the clock escalates to the municipality's lead
    (domain.md §3 T2 'escalate to municipality lead'; §4 'plan review overdue → lead after breach')."""

    transition_warning_months: tuple[int, int] = (204, 210)
    """[I] T5 warnings at 17y0m and 17y6m before the hard 18th-birthday deadline (V seed 000)."""

    gev_complaint_window_days: int | None = None
    """unknown T7: gev.is states no deadline; None = shown as 'unknown, check GEV', never enforced."""

    no_complaint_deadline_weeks: int = 4
    """[V] pbrl § 7-5: four weeks from when the decision was (or should have been) known."""

    shredding_bases: frozenset[str] = frozenset({"outside_archive_duty", "erasure_granted"})
    """[I] (domain.md §8.2, §8.3.1) the grounds on which a data subject's vault key may be destroyed
    (crypto-shredding, ``services.vault.shred``): data outside the archives duty, and an erasure request decided
    ``granted`` (a decision that has already weighed the archives duty). ``withdrawn_sharing_without_outcome``
    (a withdrawn information-sharing request that led nowhere) is lawful only "if archive rules allow": unknown,
    so off until legal review."""

    rules_version: str = "2026-11"
    """Recorded on deadline-bearing facts so a later change of these settings never rewrites history."""

    no_ordinary_coordinator_decision_days: int | None = 30
    """unknown (seed 002, domain.md §2.4): how long after the 18th birthday the municipality may take to decide on
    an ordinary coordinator before "no ordinary coordinator after 18" may be complained about without a decision.
    No source gives a number; [I] suggested 30 days. None switches that route off (only a refusal is then
    complainable on that ground). The clock's breach fact of that deadline reads the same value."""
    case_records_under_archives_duty: bool = True
    """[V] domain.md §8.2: Iceland's municipal case records may not be destroyed without the National Archivist's
    permission (Act 77/2014), so an erasure request on a case record is refused (GDPR Art. 17(3)(b)); only a
    request that led nowhere may be granted (PRIV-4). Norway's and Sweden's rules are unknown: the cautious
    default keeps them under the duty too until legal review."""

    active_retention_days_after_closure: int = 365
    """[I] domain.md §8.2: how long a closed case stays in the active system before it is archived (PRIV-9) and
    every read model forgets its personal data. The law sets no number for the active system (the record itself
    is kept, or delivered to the public archive); one year covers complaints (GEV, NO four weeks) and reopening."""


DEFAULT_LEGAL_SETTINGS = LegalSettings()
