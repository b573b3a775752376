"""``Casework``: the eventsourcing Application with one method per command of both laws.

Each method is the same three steps as in the eventsourcing examples: load the case, call the command
method (the domain checks the law), save. What this layer adds is what a real system needs around it:
validated commands in (pydantic, ``contracts.commands``), a clock and the acting person, the access model
(``domain.access``: the caller's relationship to the case decides whether it may issue the command, checked on
every attempt), and optimistic concurrency: if another writer saved the case first, the command is re-run on
the new version and saved if it is still allowed and valid there; otherwise the caller gets a clear
``ConcurrencyConflict`` (or ``AccessDenied``, when the relationship ended meanwhile).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Recording, Transcoder

from contracts import commands as c
from domain import access, bounds, privacy
from domain.access import Prospect
from domain.case import Case, CaseKey, natural_key_id
from domain.case_iceland import IcelandCase
from domain.case_norway import NorwayCase
from domain.directory import Institution
from domain.errors import RuleViolation
from domain.legal_settings import DEFAULT_LEGAL_SETTINGS, LegalSettings
from domain.values import Actor, Context, Jurisdiction
from services.casework.concurrency import KeyedLocks, backoff
from services.casework.errors import (
    AlreadyExists,
    CaseNotFound,
    ConcurrencyConflict,
    InstitutionNotFound,
)
from services.casework.group_commit import GroupCommit
from services.casework.rights import RightsCommands
from services.casework.transcodings import DomainJSONTranscoder, register_domain_transcodings
from services.observability.tracing import current_traceparent

MAX_ATTEMPTS = 8
"""Attempts against writers in *other* processes (in-process writers of one case are serialised, ``concurrency``)."""
CLOCK_SKEW = bounds.CLOCK_SKEW
A = TypeVar("A", bound=Case)


@dataclass(frozen=True)
class CommandMeta:
    """Who asks, when it happened (defaults to now) and which request it belongs to."""

    actor: Actor
    occurred_at: datetime | None = None
    correlation_id: str = ""
    causation_id: str = ""


@dataclass(frozen=True)
class CommandResult:
    case_id: UUID
    version: int
    event_ids: tuple[str, ...]
    """``<aggregate id>:<version>`` of each recorded fact: stable, and the same id the contracts publish."""


class Casework(RightsCommands, Application[UUID]):
    name = "Casework"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {IcelandCase: 50, NorwayCase: 50}
    # No replay per command: loaded aggregates stay in an LRU cache and are fast-forwarded on each load by one
    # query for the events after the cached version (eventsourcing's Repository), so another process's saves
    # are seen; commands get a deep copy, so a refused or lost attempt never touches the cached state.
    # Overridable per process through the environment (these are the lowest-precedence defaults).
    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "2000", "AGGREGATE_CACHE_FASTFORWARD": "y"}

    def __init__(self, env: Mapping[str, str] | None = None, *, legal_settings: LegalSettings = DEFAULT_LEGAL_SETTINGS,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        super().__init__(env)
        self.writing = KeyedLocks()
        self.group_commit = GroupCommit(self.events, window_seconds=float(
            self.env.get("GROUP_COMMIT_WINDOW_MS") or 0) / 1000)
        self.legal_settings = legal_settings
        self.clock = clock

    def construct_transcoder(self) -> Transcoder:
        transcoder = DomainJSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder)

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        """Every save goes through the process's group commit (``group_commit``): concurrent saves share one
        transaction. A save with tracking (a process application's) keeps the library's own path."""
        if processing_event.tracking is not None or processing_event.saved_kwargs:
            return super()._record(processing_event)
        recordings = self.group_commit.put(processing_event.events)
        if self.repository.cache and not self.repository.fastforward:  # as the library's own _record
            for aggregate_id, aggregate in processing_event.aggregates.items():
                self.repository.cache.put(aggregate_id, aggregate)
        return recordings

    # ---- the machinery every command shares ----------------------------------------------------------
    def _check_meta(self, meta: CommandMeta) -> datetime:
        """Facts may be recorded after they happened (a meeting entered the next day), never before (TIME-3;
        how far back the case allows is TIME-1, the domain's). The request's ids are PRIV-1 tokens: they are
        stored with every fact and published in NATS headers. Returns "now"."""
        now = self.clock()
        if meta.occurred_at is not None:
            bounds.check_fact_time(meta.occurred_at, now)
        for name, value in (("correlation_id", meta.correlation_id), ("causation_id", meta.causation_id)):
            if value:
                privacy.check_opaque_token(name, value)
        return now

    def _context(self, meta: CommandMeta) -> Context:
        """The context of the facts a command records now (:meth:`_check_meta` first)."""
        now = self._check_meta(meta)
        return Context(actor=meta.actor, occurred_at=meta.occurred_at or now,
                       correlation_id=meta.correlation_id, causation_id=meta.causation_id,
                       traceparent=current_traceparent(), rules_version=self.legal_settings.rules_version)

    def _cache_saved(self, case: Case) -> None:
        """The command's own copy of the case, now saved, replaces the cached one: the next load's fast-forward
        then finds nothing newer, instead of reading this very fact back and replaying it (the library caches on
        save only without fast-forward). Only here, where the copy is dropped once saved: an aggregate a caller
        goes on changing must not be the cached one."""
        if self.repository.cache is not None:
            self.repository.cache.put(case.id, case)

    def _save_facts(self, *aggregates: Any) -> tuple[str, ...]:
        recordings = self.save(*aggregates)
        return tuple(f"{r.domain_event.originator_id}:{r.domain_event.originator_version}" for r in recordings)

    def _open(self, aggregate: Case) -> CommandResult:
        """Save a new case with its natural key in one transaction: a second open of the same episode (or of one
        stored by v1 under the key's id) collides on the key and stores nothing. The key is saved first, so its
        notification comes before the case's and a relay's position passes it with the case's own."""
        try:
            event_ids = self._save_facts(CaseKey.of(aggregate), aggregate)
        except IntegrityError as error:
            raise AlreadyExists(f"A case for this child's episode {aggregate.episode} already exists in "
                                f"{aggregate.jurisdiction.value}; open the next episode instead.",
                                jurisdiction=aggregate.jurisdiction.value) from error
        return CommandResult(aggregate.id, aggregate.version, event_ids[1:])

    def get_case(self, case_id: UUID) -> Case:
        """A case by id; any other aggregate (an institution, a natural key) is no case (404, never 500)."""
        try:
            case: Any = self.repository.get(case_id)
        except AggregateNotFoundError as error:
            raise CaseNotFound(case_id) from error
        if not isinstance(case, Case):
            raise CaseNotFound(case_id)
        return case

    def case_of_natural_key(self, jurisdiction: Jurisdiction, child_ref: str, episode: int) -> UUID:
        """The id of the case of (jurisdiction, child, episode), for callers already allowed to know it."""
        key_id = natural_key_id(jurisdiction, child_ref, episode)
        try:
            key: Any = self.repository.get(key_id)
        except AggregateNotFoundError as error:
            raise CaseNotFound(key_id) from error
        return key.case_id if isinstance(key, CaseKey) else key_id

    def get_institution(self, org_ref: str) -> Institution:
        try:
            institution: Institution = self.repository.get(Institution.create_id(org_ref))
        except AggregateNotFoundError as error:
            raise InstitutionNotFound(org_ref) from error
        return institution

    def _change(self, case_type: type[A], request: c.CaseCommand, meta: CommandMeta, expected_version: int | None,
                command: Callable[[A, Context], None]) -> CommandResult:
        """Load, check who asks and what the law says, record; on a concurrent write, retry on the new version
        while still allowed (the caller's relationships are checked again on every attempt).

        A caller who may not see the case is answered as if it did not exist (``CaseNotFound``); one who may
        see it but lacks the relationship the command needs gets ``AccessDenied`` naming it."""
        self._check_meta(meta)  # a malformed time or token is refused before waiting for the case
        case_id, name, fields = request.case_id, type(request).__name__, request.arguments()
        with self.writing.hold(case_id):
            return self._change_serialised(case_type, case_id, name, fields, meta, expected_version, command)

    def _change_serialised(self, case_type: type[A], case_id: UUID, name: str, fields: dict[str, Any],
                           meta: CommandMeta, expected_version: int | None,
                           command: Callable[[A, Context], None]) -> CommandResult:
        """The attempts of ``_change``, under the case's in-process lock. "Now" is read on each attempt, after
        the wait, so a command queued behind another is not dated before the fact that one recorded (TIME-1)."""
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                backoff(attempt)
            ctx = self._context(meta)
            case = self.get_case(case_id)
            if not access.may_see_case(meta.actor, case):
                raise CaseNotFound(case_id)
            if not isinstance(case, case_type):
                raise RuleViolation("CASE-JURISDICTION",
                                    f"This command belongs to {case_type.__name__}, not to a {type(case).__name__}.",
                                    remedy="Use the commands of the case's own jurisdiction.")
            access.authorize_command(meta.actor, name, case, fields)
            case.check_processing_allowed(name)
            if expected_version is not None and case.version != expected_version:
                raise ConcurrencyConflict(case_id, expected_version, case.version)
            case.check_time(ctx)
            try:
                command(case, ctx)
            except RuleViolation as violation:
                if attempt == 0:
                    raise
                raise ConcurrencyConflict(case_id, None, case.version, cause=violation) from violation
            try:
                event_ids = self._save_facts(case)
            except IntegrityError:
                if expected_version is not None:
                    raise ConcurrencyConflict(case_id, expected_version, self.get_case(case_id).version) from None
                continue
            self._cache_saved(case)
            return CommandResult(case.id, case.version, event_ids)
        raise ConcurrencyConflict(case_id, None, self.get_case(case_id).version)

    def _call(self, method: Callable[..., None], command: c.CaseCommand, meta: CommandMeta,
              expected_version: int | None) -> CommandResult:
        """Run ``method`` (a command method of IcelandCase or NorwayCase) with the command's fields."""
        case_type: type[Case] = _owner(method)
        kwargs = command.arguments()
        if _takes_settings(method):
            kwargs["settings"] = self.legal_settings
        return self._change(case_type, command, meta, expected_version,
                            lambda case, ctx: method(case, ctx, **kwargs))

    # ---- coordinator directory -----------------------------------------------------------------------
    def register_institution(self, command: c.RegisterInstitution, meta: CommandMeta) -> CommandResult:
        access.authorize_directory(meta.actor, "RegisterInstitution", command.municipality_ref)
        institution = Institution.register(self._context(meta), **command.arguments())
        try:
            event_ids = self._save_facts(institution)
        except IntegrityError as error:
            raise AlreadyExists(f"Institution {command.org_ref} is already registered.") from error
        return CommandResult(institution.id, institution.version, event_ids)

    def _change_institution(self, org_ref: str, meta: CommandMeta, name: str,
                            command: Callable[[Institution, Context], None]) -> CommandResult:
        self._check_meta(meta)
        with self.writing.hold(Institution.create_id(org_ref)):
            for attempt in range(MAX_ATTEMPTS):
                if attempt:
                    backoff(attempt)
                ctx = self._context(meta)
                institution = self.get_institution(org_ref)
                access.authorize_directory(meta.actor, name, institution.municipality_ref)
                command(institution, ctx)
                try:
                    event_ids = self._save_facts(institution)
                except IntegrityError:
                    continue
                return CommandResult(institution.id, institution.version, event_ids)
            raise ConcurrencyConflict(Institution.create_id(org_ref), None, self.get_institution(org_ref).version)

    def designate_coordinator(self, command: c.DesignateCoordinator, meta: CommandMeta) -> CommandResult:
        return self._change_institution(command.org_ref, meta, "DesignateCoordinator",
                                        lambda inst, ctx: inst.designate_coordinator(ctx, command.person_ref))

    def withdraw_coordinator_designation(self, command: c.WithdrawCoordinatorDesignation,
                                         meta: CommandMeta) -> CommandResult:
        return self._change_institution(command.org_ref, meta, "WithdrawCoordinatorDesignation",
                                        lambda inst, ctx: inst.withdraw_designation(ctx, command.person_ref))

    # ---- Iceland --------------------------------------------------------------------------------------
    def register_contact(self, command: c.RegisterContact, meta: CommandMeta) -> CommandResult:
        args = command.arguments()
        access.authorize_opening(meta.actor, "RegisterContact", Prospect(
            Jurisdiction.ICELAND, command.child_ref, command.parent_refs, command.municipality_ref), args)
        institution = self.get_institution(args.pop("coordinator_org_ref"))
        case = IcelandCase.register_contact(self._context(meta), coordinator_institution=institution,
                                            settings=self.legal_settings, **args)
        return self._open(case)

    def change_coordinator(self, command: c.ChangeCoordinator, meta: CommandMeta,
                           expected_version: int | None = None) -> CommandResult:
        args = command.arguments()
        institution = self.get_institution(args.pop("coordinator_org_ref"))
        return self._change(IcelandCase, command, meta, expected_version,
                            lambda case, ctx: case.change_coordinator(ctx, institution=institution, **args))

    def record_integration_guidance(self, command: c.RecordIntegrationGuidance, meta: CommandMeta,
                                    expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.record_integration_guidance, command, meta, expected_version)

    def sign_information_sharing_request(self, command: c.SignInformationSharingRequest, meta: CommandMeta,
                                         expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.sign_information_sharing_request, command, meta, expected_version)

    def share_information_with_coordinator(self, command: c.ShareInformationWithCoordinator, meta: CommandMeta,
                                           expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.share_information_with_coordinator, command, meta, expected_version)

    def record_contact_with_family(self, command: c.RecordContactWithFamily, meta: CommandMeta,
                                   expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.record_contact_with_family, command, meta, expected_version)

    def record_integration_request(self, command: c.RecordIntegrationRequest, meta: CommandMeta,
                                   expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.record_integration_request, command, meta, expected_version)

    def withdraw_integration_request(self, command: c.WithdrawIntegrationRequest, meta: CommandMeta,
                                     expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.withdraw_integration_request, command, meta, expected_version)

    def arrange_initial_assessment(self, command: c.ArrangeInitialAssessment, meta: CommandMeta,
                                   expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.arrange_initial_assessment, command, meta, expected_version)

    def record_service(self, command: c.RecordService, meta: CommandMeta,
                       expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.record_service, command, meta, expected_version)

    def end_service(self, command: c.EndService, meta: CommandMeta,
                    expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.end_service, command, meta, expected_version)

    def record_level1_plan(self, command: c.RecordLevel1Plan, meta: CommandMeta,
                           expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.record_level1_plan, command, meta, expected_version)

    def notify_need_for_case_manager(self, command: c.NotifyNeedForCaseManager, meta: CommandMeta,
                                     expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.notify_need_for_case_manager, command, meta, expected_version)

    def appoint_case_manager(self, command: c.AppointCaseManager, meta: CommandMeta,
                             expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.appoint_case_manager, command, meta, expected_version)

    def establish_support_team(self, command: c.EstablishSupportTeam, meta: CommandMeta,
                               expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.establish_support_team, command, meta, expected_version)

    def invite_general_service_provider(self, command: c.InviteGeneralServiceProvider, meta: CommandMeta,
                                        expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.invite_general_service_provider, command, meta, expected_version)

    def remove_team_member(self, command: c.RemoveTeamMember, meta: CommandMeta,
                           expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.remove_team_member, command, meta, expected_version)

    def invite_to_team_meeting(self, command: c.InviteToTeamMeeting, meta: CommandMeta,
                               expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.invite_to_team_meeting, command, meta, expected_version)

    def record_team_meeting(self, command: c.RecordTeamMeeting, meta: CommandMeta,
                            expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.record_team_meeting, command, meta, expected_version)

    def record_child_views(self, command: c.RecordChildViews, meta: CommandMeta,
                           expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.record_child_views, command, meta, expected_version)

    def adopt_support_plan(self, command: c.AdoptSupportPlan, meta: CommandMeta,
                           expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.adopt_support_plan, command, meta, expected_version)

    def evaluate_support_plan(self, command: c.EvaluateSupportPlan, meta: CommandMeta,
                              expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.evaluate_support_plan, command, meta, expected_version)

    def revise_support_plan(self, command: c.ReviseSupportPlan, meta: CommandMeta,
                            expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.revise_support_plan, command, meta, expected_version)

    def adopt_adult_transition_plan(self, command: c.AdoptAdultTransitionPlan, meta: CommandMeta,
                                    expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.adopt_adult_transition_plan, command, meta, expected_version)

    def conclude_support_team(self, command: c.ConcludeSupportTeam, meta: CommandMeta,
                              expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.conclude_support_team, command, meta, expected_version)

    def record_complaint(self, command: c.RecordComplaint, meta: CommandMeta,
                         expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.record_complaint, command, meta, expected_version)

    def record_complaint_outcome(self, command: c.RecordComplaintOutcome, meta: CommandMeta,
                                 expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.record_complaint_outcome, command, meta, expected_version)

    def change_domicile(self, command: c.ChangeDomicile, meta: CommandMeta,
                        expected_version: int | None = None) -> CommandResult:
        return self._call(IcelandCase.change_domicile, command, meta, expected_version)

    # ---- both laws ------------------------------------------------------------------------------------
    def record_majority(self, command: c.RecordMajority, meta: CommandMeta,
                        expected_version: int | None = None) -> CommandResult:
        return self._change(Case, command, meta, expected_version,
                            lambda case, ctx: case.record_majority(ctx, settings=self.legal_settings))

    def close_case(self, command: c.CloseCase, meta: CommandMeta,
                   expected_version: int | None = None) -> CommandResult:
        return self._change(Case, command, meta, expected_version,
                            lambda case, ctx: case.close_case(ctx, closure_reason=command.closure_reason))

    def record_due_deadlines(self, command: c.RecordDueDeadlines, meta: CommandMeta,
                             expected_version: int | None = None) -> CommandResult:
        return self._change(Case, command, meta, expected_version,
                            lambda case, ctx: case.record_due_deadlines(ctx, settings=self.legal_settings))

    # ---- Norway ---------------------------------------------------------------------------------------
    def request_barnekoordinator(self, command: c.RequestBarnekoordinator, meta: CommandMeta) -> CommandResult:
        access.authorize_opening(meta.actor, "RequestBarnekoordinator", Prospect(
            Jurisdiction.NORWAY, command.child_ref, command.parent_refs, command.municipality_ref),
            command.arguments())
        case = NorwayCase.request_barnekoordinator(self._context(meta), settings=self.legal_settings,
                                                   **command.arguments())
        return self._open(case)

    def assess_eligibility(self, command: c.AssessEligibility, meta: CommandMeta,
                           expected_version: int | None = None) -> CommandResult:
        return self._call(NorwayCase.assess_eligibility, command, meta, expected_version)

    def issue_decision(self, command: c.IssueDecision, meta: CommandMeta,
                       expected_version: int | None = None) -> CommandResult:
        return self._call(NorwayCase.issue_decision, command, meta, expected_version)

    def record_consent(self, command: c.RecordConsent, meta: CommandMeta,
                       expected_version: int | None = None) -> CommandResult:
        return self._call(NorwayCase.record_consent, command, meta, expected_version)

    def withdraw_consent(self, command: c.WithdrawConsent, meta: CommandMeta,
                         expected_version: int | None = None) -> CommandResult:
        return self._call(NorwayCase.withdraw_consent, command, meta, expected_version)

    def appoint_barnekoordinator(self, command: c.AppointBarnekoordinator, meta: CommandMeta,
                                 expected_version: int | None = None) -> CommandResult:
        return self._call(NorwayCase.appoint_barnekoordinator, command, meta, expected_version)

    def issue_coordination_instruction(self, command: c.IssueCoordinationInstruction, meta: CommandMeta,
                                       expected_version: int | None = None) -> CommandResult:
        return self._call(NorwayCase.issue_coordination_instruction, command, meta, expected_version)

    def adopt_individual_plan(self, command: c.AdoptIndividualPlan, meta: CommandMeta,
                              expected_version: int | None = None) -> CommandResult:
        return self._call(NorwayCase.adopt_individual_plan, command, meta, expected_version)

    def receive_complaint(self, command: c.ReceiveComplaint, meta: CommandMeta,
                          expected_version: int | None = None) -> CommandResult:
        return self._call(NorwayCase.receive_complaint, command, meta, expected_version)

    def reconsider_complaint(self, command: c.ReconsiderComplaint, meta: CommandMeta,
                             expected_version: int | None = None) -> CommandResult:
        return self._call(NorwayCase.reconsider_complaint, command, meta, expected_version)

    def forward_complaint(self, command: c.ForwardComplaint, meta: CommandMeta,
                          expected_version: int | None = None) -> CommandResult:
        return self._call(NorwayCase.forward_complaint, command, meta, expected_version)

    def record_statsforvalteren_decision(self, command: c.RecordStatsforvalterenDecision, meta: CommandMeta,
                                         expected_version: int | None = None) -> CommandResult:
        return self._call(NorwayCase.record_statsforvalteren_decision, command, meta, expected_version)

    # Norway: the coordinator's duties after the decision (issue 12)
    def record_guidance_given(self, command: c.RecordGuidanceGiven, meta: CommandMeta,
                              expected_version: int | None = None) -> CommandResult:
        return self._call(NorwayCase.record_guidance_given, command, meta, expected_version)

    def communicate_referral(self, command: c.CommunicateReferral, meta: CommandMeta,
                             expected_version: int | None = None) -> CommandResult:
        return self._call(NorwayCase.communicate_referral, command, meta, expected_version)

    def follow_up_with_service(self, command: c.FollowUpWithService, meta: CommandMeta,
                               expected_version: int | None = None) -> CommandResult:
        return self._call(NorwayCase.follow_up_with_service, command, meta, expected_version)

    def initiate_reassessment(self, command: c.InitiateReassessment, meta: CommandMeta,
                              expected_version: int | None = None) -> CommandResult:
        return self._call(NorwayCase.initiate_reassessment, command, meta, expected_version)

    def record_family_views(self, command: c.RecordFamilyViews, meta: CommandMeta,
                            expected_version: int | None = None) -> CommandResult:
        return self._call(NorwayCase.record_family_views, command, meta, expected_version)

    def link_specialist_coordinator(self, command: c.LinkSpecialistCoordinator, meta: CommandMeta,
                                    expected_version: int | None = None) -> CommandResult:
        return self._call(NorwayCase.link_specialist_coordinator, command, meta, expected_version)


@functools.cache
def _takes_settings(method: Callable[..., None]) -> bool:
    """The command method wants the ``LegalSettings`` (asked once per method: ``inspect.signature`` was a twentieth
    of a command's CPU)."""
    return "settings" in inspect.signature(method).parameters


def _owner(method: Callable[..., None]) -> type[Case]:
    """The aggregate class a command method belongs to (``IcelandCase.record_service`` → IcelandCase)."""
    owners: dict[str, type[Case]] = {"IcelandCase": IcelandCase, "NorwayCase": NorwayCase,
                                     "NorwayCoordination": NorwayCase}  # NorwayCase's base: the duties of seed 002
    return owners[method.__qualname__.split(".")[0]]
