"""Stateful property tests of the two case aggregates (domain.md §2.2-2.4), persisted through a real
eventsourcing ``Application`` on the in-memory (POPO) store.

Two hypothesis ``RuleBasedStateMachine`` s, one per law, drive random command sequences, many of them
meant to be refused: the wrong actor, the wrong state, a missing justification or consent, a child-only
request, a level-4 service, a forbidden Norwegian instruction, complaints out of order, dates on or after
the 18th birthday. A simulated clock moves on by a generated number of days at every step, and the
children are 15 to 17.9 years old when their case opens, so many runs cross the 18th birthday.

Random commands alone rarely line up into a lifecycle, so each machine also has a ``follow_the_lifecycle``
rule (and a warm-up when it starts) that takes lawful next steps from wherever the case is, choosing among
the law's branches (the law allows each, so refusing one fails the test too), and after each step tries one
command the law refuses, chosen among those whose own guard is the deciding one in the state just reached.
Ids the random commands name are, most of the time, ones the case already holds (``Existing``). The two
sequences hypothesis found against the domain are pinned as plain tests at the end of the module.

After every step:

- a refused command raised ``RuleViolation`` or ``InvalidValue`` and left no trace: no pending event, the
  same in-memory state, the same stored events (version, topic and state bytes) and the same version when
  the case is loaded again;
- an accepted command is saved, and the case loaded back from the store has the same observable state as
  the one in memory (and the machine carries on with the loaded one, so replay must be faithful);
- the invariants of the law hold over every stored event (the ``@invariant`` methods).

The POPO store still serialises every event through the application's mapper and JSON transcoder, so
the store uses the adapter's ``DomainJSONTranscoder`` and its registrations (``services.casework.transcodings``):
with the stock transcoder a ``StrEnum`` comes back as a bare string and ``is`` checks fail on replay.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, Transcoder
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from domain import clock
from domain.barnekoordinator import GROUND_DECISIONS, GROUND_OF_DECISION
from domain.case_iceland import TEAM_STATES, IcelandCase, IcelandStatus
from domain.case_norway import NorwayCase, NorwayStatus
from domain.directory import Institution
from domain.errors import InvalidValue, RuleViolation
from domain.legal_settings import DEFAULT_LEGAL_SETTINGS
from domain.life_stage import SchoolStatus, eligible_life_stages
from domain.values import (
    SYSTEM_ACTOR,
    Actor,
    AdultServiceHandover,
    ComplainantCapacity,
    ComplaintGround,
    ComplaintStage,
    ComplaintSubject,
    Context,
    Decision,
    EligibilityCriteria,
    EvaluationOutcome,
    FamilyMember,
    FamilyStatus,
    FollowUpPurpose,
    GuidanceTopic,
    IndividualPlanContent,
    InstitutionType,
    InstructionType,
    Jurisdiction,
    LifeStage,
    MemberType,
    OfferResponse,
    ProviderRole,
    ReassessmentReason,
    ReconsiderationOutcome,
    ReferralKind,
    RequestChannel,
    Role,
    StatsforvalterenOutcome,
    SupportPlanContent,
    TeamMember,
    TeamOutcome,
    ViewsMethod,
)
from services.casework.transcodings import DomainJSONTranscoder, register_domain_transcodings

# ---- the world the machines act in ------------------------------------------------------------------------

SETTINGS = DEFAULT_LEGAL_SETTINGS
CLOCK_SETTINGS = dataclasses.replace(SETTINGS, t2_case_manager_appointment_days=20, t3_plan_drafting_days=30,
                                     no_ordinary_coordinator_decision_days=30)
"""The clock's rules with the unknown deadlines configured, so random runs reach T2, T3 and T9-18 too."""
CLOCK_FACTS = {"DeadlineWarningRaised", "DeadlineBreached", "DeadlineReached", "DeadlineEscalated"}
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
EXAMPLES_PER_MACHINE = 50
STEPS_PER_EXAMPLE = 30
MACHINE_SETTINGS = settings(
    max_examples=EXAMPLES_PER_MACHINE,
    stateful_step_count=STEPS_PER_EXAMPLE,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

CHILD = "@child"
"""Stands in a strategy for the current case's child, whose reference is only known at run time."""
PARENT_A, PARENT_B, STRANGER = "person:parent-a", "person:parent-b", "person:stranger"
COORD_1, COORD_2, COORD_3, COORD_X = "person:coord-1", "person:coord-2", "person:coord-3", "person:coord-x"
CM_1, CM_2, LEAD = "person:cm-1", "person:cm-2", "person:lead-1"
MUNI, OTHER_MUNI = "muni:reykjavik", "muni:akureyri"
PEOPLE = (PARENT_A, PARENT_B, CHILD, STRANGER, COORD_1, COORD_2, COORD_3, COORD_X, CM_1, CM_2, LEAD)

DAYS = st.one_of(st.just(0), st.integers(1, 7), st.integers(8, 60))
AGE_AT_START_DAYS = st.one_of(st.integers(16 * 365 + 4, 17 * 365), st.integers(int(17.5 * 365.25),
                                                                                int(17.9 * 365.25)))
"""16 to 17.9 years old when the case opens (in upper secondary school or at social services, LIFE-1), half of
them within months of 18, so the 18th birthday falls inside many runs, often in the middle of the lifecycle."""
WHO = st.one_of(st.none(), st.tuples(st.sampled_from(PEOPLE), st.sampled_from(list(Role))))
"""``None`` is the actor the law expects for the command; a pair is anyone in any role."""
PERSON = st.sampled_from(PEOPLE)
FAMILY = st.lists(st.sampled_from([PARENT_A, PARENT_B, CHILD]), min_size=1, max_size=2, unique=True).map(tuple)
PERSONS = st.one_of(FAMILY, st.lists(PERSON, max_size=3, unique=True).map(tuple))
"""Half the time the family only (what most commands expect), otherwise anyone."""
DOC = st.sampled_from(["doc:d-1", "doc:d-2", "doc:d-3"] * 3 + ["", "doc", "doc:has space", "person:p-1",
                                                              "doc:0101012345"])
MAYBE_DOC = st.one_of(st.none(), DOC)
ORG = st.sampled_from(["org:clinic", "org:bup", "org:fsu"] * 3 + ["org", "muni:x", "org:0101012345"])
ORGS = st.lists(ORG, max_size=2, unique=True).map(tuple)
CODE = st.sampled_from(["c_1", "c_2"])
IDS = st.sampled_from(["id-1", "id-2", "id-3"])


class Existing(NamedTuple):
    """Stands in a strategy for one of the case's existing ids (a request, a member, a decision ...), chosen
    by position at run time: ids drawn blindly would rarely name anything the case holds."""

    position: int


def existing_or(fresh: st.SearchStrategy[str]) -> st.SearchStrategy[str | Existing]:
    """Two times in three an id the case already holds (when it holds any), otherwise a drawn one."""
    pick = st.integers(0, 9).map(Existing)
    return st.one_of(pick, pick, fresh)


def resolve(value: str | Existing, held: Iterable[str], fallback: str = "id-none") -> str:
    if isinstance(value, str):
        return value
    keys = list(held)
    return keys[value.position % len(keys)] if keys else fallback


STEP = st.tuples(st.integers(0, 11), st.integers(0, 11))
"""One step along the lifecycle: which lawful branch to take, then which unlawful command to try in the state
that step led to (so refusals are tested in every state the case passes through, not only the first)."""
BRANCHES = st.lists(STEP, min_size=1, max_size=6)
WARM_UP = st.lists(STEP, min_size=2, max_size=20)
"""Lawful steps taken when a machine starts, so each run starts somewhere along the lifecycle."""


def eighteenth_birthday(birth_date: date) -> date:
    """Independent oracle for the majority date; a 29 February birthday falls on 1 March in common years."""
    try:
        return birth_date.replace(year=birth_date.year + SETTINGS.age_of_majority_years)
    except ValueError:
        return date(birth_date.year + SETTINGS.age_of_majority_years, 3, 1)


def on_day(actor: Actor, day: date) -> Context:
    """A command dated on a given day (the 18th birthday, the day before it) whatever the machine's clock says."""
    return Context(actor=actor, occurred_at=datetime.combine(day, time(9), tzinfo=UTC))


def plain(value: Any) -> Any:
    """A comparable picture of a value that keeps the types JSON loses: an enum member that came back from
    the store as a bare string, or a tuple that came back as a list, does not pass unseen."""
    if isinstance(value, Enum):
        return (type(value).__name__, value.value)
    if isinstance(value, tuple):
        return ("tuple", [plain(v) for v in value])
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {plain(k) if isinstance(k, Enum) else k: plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)})
    return value


def observable(case: Aggregate) -> dict[str, Any]:
    """Everything the aggregate holds, except the events not yet saved."""
    return {name: plain(value) for name, value in vars(case).items() if name != "_pending_events"}


class CaseStore(Application[UUID]):
    """The smallest application that stores cases: the in-memory store, the domain's transcoder."""

    def construct_transcoder(self) -> Transcoder:
        transcoder = DomainJSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder)


C = TypeVar("C", IcelandCase, NorwayCase)


class CaseMachine(RuleBasedStateMachine):
    """What both machines share: the store, the clock, and the refused-or-saved check of every command."""

    def __init__(self) -> None:
        super().__init__()
        self.app = CaseStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.now = START
        self.children = 0
        self.case_ids: list[UUID] = []

    # ---- clock, actors, store ----------------------------------------------------------------------------
    def tick(self, days: int) -> None:
        self.now += timedelta(days=days)

    def ctx(self, actor: Actor) -> Context:
        return Context(actor=actor, occurred_at=self.now)

    def actor(self, who: tuple[str, Role] | None, expected: Actor) -> Actor:
        if who is None:
            return expected
        return Actor(person_ref=self.person(who[0]), role=who[1])

    def person(self, ref: str) -> str:
        raise NotImplementedError

    def lawful_step(self, branch: int) -> None:
        raise NotImplementedError

    def unlawful_step(self, variant: int) -> None:
        raise NotImplementedError

    def take(self, steps: list[tuple[int, int]]) -> None:
        for branch, variant in steps:
            self.lawful_step(branch)
            self.unlawful_step(variant)

    def new_child_ref(self) -> str:
        self.children += 1
        return f"person:child-{self.children}"

    def stored(self) -> list[tuple[UUID | str, int, str, bytes]]:
        notifications = self.app.recorder.select_notifications(start=None, limit=10**6)
        return [(n.originator_id, n.originator_version, n.topic, n.state) for n in notifications]

    def events(self, case_id: UUID) -> list[Any]:
        return list(self.app.events.get(case_id))

    def save_new(self, case: C) -> C:
        self.app.save(case)
        self.case_ids.append(case.id)
        loaded: C = self.app.repository.get(case.id)
        assert observable(loaded) == observable(case), "a new case loaded from the store differs"
        return loaded

    def attempt(self, case: C, command: Callable[[C], object], refuse_because: str | None,
                must_accept: bool = False) -> C:
        """Run one command. ``refuse_because`` is why the law must refuse it, when it must: accepting such a
        command fails the test; ``must_accept`` says the law allows it, so refusing it fails the test.
        Returns the case to carry on with (loaded from the store)."""
        store_before, state_before, version_before = self.stored(), observable(case), case.version
        try:
            command(case)
        except (RuleViolation, InvalidValue) as refusal:
            assert not must_accept, f"refused a command the law allows: {refusal}"
            assert not case.pending_events, "a refused command left pending events"
            assert observable(case) == state_before, "a refused command changed the case in memory"
            assert self.stored() == store_before, "a refused command changed the stored events"
            assert self.app.repository.get(case.id).version == version_before
            return case
        assert refuse_because is None, f"accepted a command the law refuses: {refuse_because}"
        assert case.pending_events, "an accepted command recorded no fact"
        self.app.save(case)
        stored = self.stored()
        assert stored[: len(store_before)] == store_before, "saving rewrote earlier events"
        loaded: C = self.app.repository.get(case.id)
        assert loaded.version == case.version > version_before
        assert observable(loaded) == observable(case), "the case loaded from the store differs from memory"
        return loaded

    @invariant()
    def each_clock_fact_is_recorded_once_by_the_clock_on_or_after_its_day(self) -> None:
        """The law's clock (domain/clock.py): one fact per deadline, mark and warning; recorded by the system;
        a warning before its due date, a breach after it, a fact reached on or after it."""
        for case_id in self.case_ids:
            keys = []
            for event in self.events(case_id):
                name = type(event).__name__
                if name not in CLOCK_FACTS:
                    continue
                keys.append((name, event.deadline_id, getattr(event, "warning", ""), getattr(event, "stage", "")))
                assert event.ctx.actor.role is Role.SYSTEM, f"{name} recorded by {event.ctx.actor}"
                day = event.ctx.day
                if name == "DeadlineWarningRaised":
                    assert day < event.due_on, f"warned on {day} about {event.deadline_id} due {event.due_on}"
                elif name == "DeadlineBreached" and event.rule_id != "T5":
                    assert day > event.due_on, f"breached on {day}, due {event.due_on}"
                else:
                    assert day >= event.due_on, f"{name} on {day}, due {event.due_on}"
            assert len(keys) == len(set(keys)), f"a clock fact was recorded twice: {keys}"

    def refuse_new(self, create: Callable[[], object], why: str) -> None:
        """A case that must not be opened: refused, and nothing stored."""
        store_before = self.stored()
        try:
            created = create()
        except (RuleViolation, InvalidValue):
            assert self.stored() == store_before
            return
        raise AssertionError(f"opened a case the law refuses ({why}): {created!r}")


def first(*reasons: tuple[bool, str]) -> str | None:
    """The first reason that applies, if any: why the command must be refused."""
    return next((why for applies, why in reasons if applies), None)


# ==== Iceland ==============================================================================================

IS_CLOSED_FACTS = {"ProcessingStopped", "TeamConclusionNotified", "ComplaintLodged", "ComplaintOutcomeRecorded",
                   "DeadlineReached"}
"""The only facts a closed Icelandic case may still gain (the complaint, and GEV's deadline for improvement (T14),
outlive the case)."""


class PlanSpec(NamedTuple):
    present: frozenset[str]
    reason_for_missing: bool
    unknown_reason: bool
    inverted_duration: bool
    reviews: int


PLAN_ELEMENTS = ("needs_assessment", "objectives", "provider_roles", "evaluation_method", "duration")
PLAN_SPEC = st.builds(
    PlanSpec,
    present=st.one_of(st.just(frozenset(PLAN_ELEMENTS)), st.frozensets(st.sampled_from(PLAN_ELEMENTS))),
    reason_for_missing=st.booleans(),
    unknown_reason=st.sampled_from([False, False, False, True]),
    inverted_duration=st.booleans(),
    reviews=st.integers(0, 2),
)


class IcelandCaseMachine(CaseMachine):
    """Act 86/2021: contact, request, coordinator, case manager, support team, plans, conclusion, majority."""

    def __init__(self) -> None:
        super().__init__()
        boot = Context(actor=SYSTEM_ACTOR, occurred_at=START)
        self.secondary = Institution.register(
            boot, org_ref="org:fsu", institution_type=InstitutionType.SECONDARY_SCHOOL, municipality_ref=MUNI,
            jurisdiction=Jurisdiction.ICELAND)
        self.social = Institution.register(
            boot, org_ref="org:velferd", institution_type=InstitutionType.SOCIAL_SERVICES, municipality_ref=MUNI,
            jurisdiction=Jurisdiction.ICELAND)
        self.secondary.designate_coordinator(boot, COORD_1)
        self.secondary.designate_coordinator(boot, COORD_2)
        self.social.designate_coordinator(boot, COORD_3)
        self.institutions = {"secondary": self.secondary, "social": self.social}
        self.serial = 0

    def person(self, ref: str) -> str:
        return self._case.child_ref if ref == CHILD else ref

    def open_case(self, age_days: int, two_parents: bool, social: bool) -> None:
        birth = self.now.date() - timedelta(days=age_days)
        case = IcelandCase.register_contact(
            self.ctx(Actor(COORD_3 if social else COORD_1, Role.COORDINATOR)),
            child_ref=self.new_child_ref(), parent_refs=(PARENT_A, PARENT_B) if two_parents else (PARENT_A,),
            birth_date=birth, municipality_ref=MUNI, coordinator_ref=COORD_3 if social else COORD_1,
            coordinator_institution=self.social if social else self.secondary,
            life_stage=LifeStage.SOCIAL_SERVICES if social else LifeStage.SECONDARY,
            conflict_of_interest_declared_none=True, settings=SETTINGS,
            school_status=SchoolStatus.NONE if social else SchoolStatus.SECONDARY)
        self._case = self.save_new(case)

    def run(self, command: Callable[[IcelandCase], object], refuse_because: str | None = None) -> None:
        self._case = self.attempt(self._case, command, refuse_because)

    def lawful(self, command: Callable[[IcelandCase], object]) -> None:
        self._case = self.attempt(self._case, command, None, must_accept=True)

    def prepare(self, days: int) -> IcelandCase:
        self.tick(days)
        return self._case

    @property
    def coordinator(self) -> Actor:
        return Actor(self._case.coordinator_ref, Role.COORDINATOR)

    @property
    def case_manager(self) -> Actor:
        return Actor(self._case.case_manager_ref or CM_1, Role.CASE_MANAGER)

    def not_case_manager(self, actor: Actor) -> bool:
        return actor.role is not Role.CASE_MANAGER or actor.person_ref != self._case.case_manager_ref

    def closed(self) -> bool:
        return not self._case.is_open

    # ---- opening -----------------------------------------------------------------------------------------
    @initialize(age_days=AGE_AT_START_DAYS, two_parents=st.booleans(), social=st.booleans(), warm_up=WARM_UP)
    def register_contact(self, age_days: int, two_parents: bool, social: bool, warm_up: list[tuple[int, int]]) -> None:
        self.open_case(age_days, two_parents, social)
        self.take(warm_up)

    @precondition(lambda self: not self._case.is_open)
    @rule(days=DAYS, age_days=AGE_AT_START_DAYS, two_parents=st.booleans(), social=st.booleans())
    def register_next_child(self, days: int, age_days: int, two_parents: bool, social: bool) -> None:
        self.tick(days)
        self.open_case(age_days, two_parents, social)

    @rule(days=DAYS, defect=st.sampled_from(["adult", "future_birth", "wrong_institution", "not_designated",
                                             "conflict", "national_id", "no_episode"]))
    def register_contact_refused(self, days: int, defect: str) -> None:
        self.tick(days)
        today = self.now.date()
        birth = {"adult": today - timedelta(days=18 * 366), "future_birth": today + timedelta(days=3)}.get(
            defect, today - timedelta(days=16 * 365))
        self.refuse_new(lambda: IcelandCase.register_contact(
            self.ctx(Actor(COORD_1, Role.COORDINATOR)),
            child_ref="person:0101012345" if defect == "national_id" else "person:other-child",
            parent_refs=(PARENT_A,), birth_date=birth, municipality_ref=MUNI,
            coordinator_ref=COORD_X if defect == "not_designated" else COORD_1,
            coordinator_institution=self.social if defect == "wrong_institution" else self.secondary,
            life_stage=LifeStage.SECONDARY, conflict_of_interest_declared_none=defect != "conflict",
            settings=SETTINGS, episode=0 if defect == "no_episode" else 1), defect)

    # ---- the lawful path (each step must be accepted) ----------------------------------------------------
    @rule(days=DAYS, branches=BRANCHES)
    def follow_the_lifecycle(self, days: int, branches: list[tuple[int, int]]) -> None:
        """Take lawful next steps of domain.md §2.2 from wherever the case is (a new child's case once it
        closed): random commands rarely line up, so this rule carries the case into every state."""
        self.tick(days)
        self.take(branches)

    def unlawful_step(self, variant: int) -> None:
        """One command the Act refuses in every state, chosen among those whose own guard is the one that
        decides in the case's current state (so removing that guard would let it through)."""
        case, cm, status = self._case, self.case_manager, self._case.status
        assert case.birth_date is not None
        majority = eighteenth_birthday(case.birth_date)
        basis, team = case.request_active and case.is_open, case.team_active
        attempts: list[tuple[bool, Callable[[IcelandCase], object], str]] = [
            (basis, lambda c: c.record_service(self.ctx(self.coordinator), service_id=self.next_id("svc-"),
                                        provider_org_ref="org:bup", service_level=4, service_type_code="t",
                                        start_date=self.now.date()), "IS-R10 level 4"),
            (team, lambda c: c.adopt_support_plan(self.ctx(Actor(c.case_manager_ref or CM_1, Role.COORDINATOR)),
                                            plan_id="plan-x", content=self.plan_content(
                                                PlanSpec(frozenset(PLAN_ELEMENTS), True, False, False, 0))[0]),
             "IS-R14 a plan adopted by someone acting as coordinator"),
            (status is IcelandStatus.TEAM_ACTIVE_NO_PLAN, lambda c: c.conclude_support_team(
                self.ctx(cm), outcome=TeamOutcome.CONCLUDED_WITHOUT_PLAN,
                                               justification_doc_ref=None, settings=SETTINGS),
             "IS-INV-6 no justification"),
            (team, lambda c: c.adopt_adult_transition_plan(
                on_day(cm, majority), plan_id="atp-late", adult_service_handovers=(AdultServiceHandover("org:a", "r"),),
                young_person_participated=True, settings=SETTINGS), "IS-INV-7 on the 18th birthday"),
            (status is IcelandStatus.CONTACT, lambda c: c.record_integration_request(
                self.ctx(Actor(c.child_ref, Role.YOUNG_PERSON)), request_id="req-child",
                requested_by_refs=(c.child_ref,), requester_roles=(FamilyMember.CHILD,), written=True,
                form_doc_ref="doc:r", settings=SETTINGS),
             "IS-R6b the child alone"),
            (case.is_open, lambda c: c.record_majority(on_day(SYSTEM_ACTOR, majority - timedelta(days=1)),
                                                       settings=SETTINGS),
             "IS-R28 the day before the 18th birthday"),
            (team, lambda c: c.invite_general_service_provider(
                self.ctx(cm), person_ref="person:gsp-x", org_ref="org:fsu", necessity_justification_ref=None),
             "IS-R15 no justification"),
            (team and case.parent_refs[-1] in case.team_members,
             lambda c: c.remove_team_member(self.ctx(cm), person_ref=c.parent_refs[-1], reason_code="x"),
             "IS-R16 a parent removed"),
            (status is IcelandStatus.TEAM_FORMING, lambda c: c.establish_support_team(
                self.ctx(cm), team_id="team-x", members=(
                TeamMember(c.child_ref, None, MemberType.CHILD),)), "IS-R14c no provider on the team"),
            (case.is_open, lambda c: c.share_information_with_coordinator(
                self.ctx(Actor(STRANGER, Role.SERVICE_PROVIDER_REP)), request_id="never-signed",
                source_provider_org_ref="org:clinic", recipient_ref=c.coordinator_ref, summary_doc_ref="doc:s"),
             "IS-INV-4 no request"),
            (basis and (status is IcelandStatus.AWAITING_CASE_MANAGER or case.case_manager_reappointment_pending),
             lambda c: c.appoint_case_manager(
                self.ctx(Actor(c.coordinator_ref, Role.COORDINATOR)), case_manager_ref=CM_2,
                municipality_ref=c.municipality_ref, org_unit_ref="org:velferd", needs_l2_l3_multilevel=True,
                long_term=True, works_in_social_services_or_area_of_needs=True), "IS-R13 not the municipality"),
            (True, lambda c: c.record_complaint(
                self.ctx(Actor(STRANGER, Role.SUPERVISOR)), complaint_id=self.next_id("k-"), complainant_ref=STRANGER,
                complainant_capacity=ComplainantCapacity.OTHER, subject=ComplaintSubject.SERVICE_QUALITY),
             "IS-R25 a tip, not a complaint"),
        ]
        relevant = [(command, why) for here, command, why in attempts if here]
        command, why = relevant[variant % len(relevant)]
        self.run(command, why)

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"

    def lawful_step(self, branch: int) -> None:
        case, status = self._case, self._case.status
        if not case.is_open:
            self.open_case(17 * 365 + 30 * branch, branch % 2 == 0, branch % 3 == 0)  # 17.0 to 17.9 years old
        elif case.birth_date is not None and self.now.date() >= eighteenth_birthday(case.birth_date):
            self.lawful(lambda c: c.record_majority(self.ctx(SYSTEM_ACTOR), settings=SETTINGS))
        elif case.case_manager_reappointment_pending and branch % 2:
            self.lawful(lambda c: c.appoint_case_manager(
                self.ctx(Actor(LEAD, Role.MUNICIPALITY_LEAD)), case_manager_ref=CM_2 if branch % 4 == 1 else CM_1,
                municipality_ref=c.municipality_ref, org_unit_ref="org:velferd", needs_l2_l3_multilevel=True,
                long_term=True, works_in_social_services_or_area_of_needs=True))
        elif status is IcelandStatus.CONTACT:
            self.lawful_contact_step(branch)
        elif branch == 11 or (status is IcelandStatus.INTEGRATION_ACTIVE_L1 and branch == 10):
            self.lawful(lambda c: c.withdraw_integration_request(
                self.ctx(Actor(PARENT_A, Role.PARENT)), request_id=c.integration_request_id or "",
                withdrawn_by_ref=PARENT_A, reason_code="family_choice"))
        elif status is IcelandStatus.INTEGRATION_ACTIVE_L1:
            self.lawful_first_level_step(branch)
        elif status is IcelandStatus.AWAITING_CASE_MANAGER:
            self.lawful(lambda c: c.appoint_case_manager(
                self.ctx(Actor(LEAD, Role.MUNICIPALITY_LEAD)), case_manager_ref=CM_1,
                municipality_ref=c.municipality_ref, org_unit_ref="org:velferd", needs_l2_l3_multilevel=True,
                long_term=True, works_in_social_services_or_area_of_needs=True))
        elif status is IcelandStatus.TEAM_FORMING:
            provider = PARENT_A if branch == 9 else "person:provider-1"  # 9: a parent also represents a provider
            members = (TeamMember(provider, "org:clinic", MemberType.SERVICE_PROVIDER_REP),
                       *((TeamMember(case.child_ref, None, MemberType.CHILD),) if branch % 2 else ()))
            self.lawful(lambda c: c.establish_support_team(self.ctx(self.case_manager), team_id=self.next_id("team-"),
                                                           members=members))
        else:
            self.lawful_team_step(branch)

    def lawful_contact_step(self, branch: int) -> None:
        if branch == 0:
            self.lawful(lambda c: c.record_integration_guidance(
                self.ctx(Actor(STRANGER, Role.SERVICE_PROVIDER_REP)), provider_org_ref="org:clinic",
                provider_person_ref=STRANGER, given_to=FamilyMember.PARENT))
        elif branch in {1, 2}:
            request_id = self.next_id("isr-")
            self.lawful(lambda c: c.sign_information_sharing_request(
                self.ctx(Actor(PARENT_A, Role.PARENT)), request_id=request_id, signatory_refs=(PARENT_A,),
                source_provider_org_refs=("org:clinic",), target_refs=(c.coordinator_ref,), form_doc_ref="doc:isr"))
            if branch == 2:
                self.lawful(lambda c: c.share_information_with_coordinator(
                    self.ctx(Actor(STRANGER, Role.SERVICE_PROVIDER_REP)), request_id=request_id,
                    source_provider_org_ref="org:clinic", recipient_ref=c.coordinator_ref,
                    summary_doc_ref="doc:summary"))
        elif branch == 3:
            self.lawful(lambda c: c.record_contact_with_family(
                self.ctx(self.coordinator), offered_to=(FamilyMember.PARENT, FamilyMember.CHILD),
                contact_refs=(PARENT_A, c.child_ref), response=OfferResponse.ACCEPTED))
        else:
            roles = (FamilyMember.PARENT, FamilyMember.CHILD) if branch % 2 else (FamilyMember.PARENT,)
            self.lawful(lambda c: c.record_integration_request(
                self.ctx(Actor(PARENT_A, Role.PARENT)), request_id=self.next_id("req-"),
                requested_by_refs=(PARENT_A, c.child_ref) if branch % 2 else (PARENT_A,), requester_roles=roles,
                written=True, form_doc_ref="doc:request", settings=SETTINGS))

    def lawful_first_level_step(self, branch: int) -> None:
        if branch <= 2:
            self.lawful(lambda c: c.record_service(
                self.ctx(self.coordinator), service_id=self.next_id("svc-"), provider_org_ref="org:bup",
                service_level=branch + 1, service_type_code="therapy", start_date=self.now.date()))
        elif branch == 3:
            self.lawful(lambda c: c.record_level1_plan(
                self.ctx(self.coordinator), objective_refs=("doc:goal",), responsible_org_refs=("org:fsu",),
                follow_up_date=self.now.date() + timedelta(days=30)))
        elif branch == 4:
            self.lawful(lambda c: c.arrange_initial_assessment(
                self.ctx(self.coordinator), assessor_org_ref="org:bup", planned_date=self.now.date()))
        else:
            self.lawful(lambda c: c.notify_need_for_case_manager(self.ctx(self.coordinator),
                                                                 municipality_ref=c.municipality_ref))

    def lawful_team_step(self, branch: int) -> None:
        case, plan = self._case, self._case.status is IcelandStatus.PLAN_ACTIVE
        cm = self.ctx(self.case_manager)
        good_plan, _ = self.plan_content(PlanSpec(frozenset(PLAN_ELEMENTS), True, False, False, branch % 3))
        if branch in {0, 10} and not plan:
            self.lawful(lambda c: c.conclude_support_team(
                cm, outcome=TeamOutcome.CONCLUDED_WITHOUT_PLAN, justification_doc_ref="doc:why", settings=SETTINGS))
        elif branch == 0:
            self.lawful(lambda c: c.conclude_support_team(
                cm, outcome=TeamOutcome.GOALS_MET, justification_doc_ref=None, settings=SETTINGS))
        elif branch == 1:
            self.lawful(lambda c: c.invite_general_service_provider(
                cm, person_ref=self.next_id("person:gsp-"), org_ref="org:fsu", necessity_justification_ref="doc:need"))
        elif branch == 2:
            meeting_id = self.next_id("meeting-")
            self.lawful(lambda c: c.invite_to_team_meeting(cm, meeting_id=meeting_id, invitee_refs=c.family_refs,
                                                           scheduled_for=self.now.date()))
            self.lawful(lambda c: c.record_team_meeting(
                cm, meeting_id=meeting_id, attendee_refs=c.parent_refs, parents_attended=True,
                child_attended=False, minutes_doc_ref="doc:minutes"))
        elif branch == 3:
            self.lawful(lambda c: c.adopt_adult_transition_plan(
                cm, plan_id=self.next_id("atp-"), adult_service_handovers=(AdultServiceHandover("org:adult", "nurse"),),
                young_person_participated=True, settings=SETTINGS))
        elif branch == 4 and case.transition_plan_adopted_on is not None:
            self.lawful(lambda c: c.conclude_support_team(
                cm, outcome=TeamOutcome.AGE_OUT, justification_doc_ref=None, settings=SETTINGS))
        elif branch == 5 and plan:
            self.lawful(lambda c: c.conclude_support_team(
                cm, outcome=TeamOutcome.REFERRED_BACK_TO_COORDINATOR, justification_doc_ref="doc:why",
                settings=SETTINGS))
        elif branch in {6, 7} and plan:
            self.lawful(lambda c: c.revise_support_plan(
                cm, plan_id=c.plan_id or "", supersedes_version=c.plan_version or 0, content=good_plan))
        elif branch == 8 and plan:
            self.lawful(lambda c: c.evaluate_support_plan(
                cm, plan_id=c.plan_id or "", version=c.plan_version or 0, outcome=EvaluationOutcome.CONTINUE,
                progress_doc_ref="doc:progress"))
        elif not plan:
            self.lawful(lambda c: c.adopt_support_plan(cm, plan_id=self.next_id("plan-"), content=good_plan))
        else:
            self.lawful(lambda c: c.record_child_views(self.ctx(self.coordinator), method=ViewsMethod.CONVERSATION,
                                                       summary_doc_ref="doc:views"))

    # ---- rows 2-8: guidance, information sharing, the request --------------------------------------------
    @rule(days=DAYS, org=ORG, who=PERSON, given_to=st.sampled_from(list(FamilyMember)))
    def record_integration_guidance(self, days: int, org: str, who: str, given_to: FamilyMember) -> None:
        case = self.prepare(days)
        self.run(lambda c: c.record_integration_guidance(
            self.ctx(Actor(self.person(who), Role.SERVICE_PROVIDER_REP)), provider_org_ref=org,
            provider_person_ref=self.person(who), given_to=given_to),
            first((case.closed_on is not None, "case closed")))

    @rule(days=DAYS, request_id=IDS, signatories=PERSONS, sources=ORGS, recipients=PERSONS, form=DOC)
    def sign_information_sharing_request(self, days: int, request_id: str, signatories: tuple[str, ...],
                                         sources: tuple[str, ...], recipients: tuple[str, ...], form: str) -> None:
        case = self.prepare(days)
        signers = tuple(self.person(s) for s in signatories)
        self.run(lambda c: c.sign_information_sharing_request(
            self.ctx(Actor(PARENT_A, Role.PARENT)), request_id=request_id, signatory_refs=signers,
            source_provider_org_refs=sources, target_refs=tuple(self.person(t) for t in recipients),
            form_doc_ref=form),
            first((self.closed(), "case closed"),
                  (len(sources) != 1 or len(recipients) != 1, "IS-R3 one source, one target"),
                  (not signers or any(s not in case.family_refs for s in signers), "IS-R3 family signs"),
                  (request_id in case.sharing_requests, "IS-R3 already signed")))

    @rule(days=DAYS, request_id=existing_or(IDS), source=ORG, recipient=PERSON, summary=DOC, exact=st.booleans())
    def share_information_with_coordinator(self, days: int, request_id: str | Existing, source: str,
                                           recipient: str, summary: str, exact: bool) -> None:
        case = self.prepare(days)
        request_id = resolve(request_id, case.sharing_requests)
        if exact and request_id in case.sharing_requests:
            source, recipient = case.sharing_requests[request_id]
        pair = (source, self.person(recipient))
        self.run(lambda c: c.share_information_with_coordinator(
            self.ctx(Actor(STRANGER, Role.SERVICE_PROVIDER_REP)), request_id=request_id,
            source_provider_org_ref=source, recipient_ref=self.person(recipient), summary_doc_ref=summary),
            first((self.closed(), "case closed"),
                  (case.sharing_requests.get(request_id) != pair, "IS-INV-4 unauthorised pair")))

    @rule(days=DAYS, offered_to=st.lists(st.sampled_from(list(FamilyMember)), max_size=2).map(tuple),
          contacts=PERSONS, response=st.sampled_from(list(OfferResponse)))
    def record_contact_with_family(self, days: int, offered_to: tuple[FamilyMember, ...],
                                   contacts: tuple[str, ...], response: OfferResponse) -> None:
        case = self.prepare(days)
        refs = tuple(self.person(p) for p in contacts)
        self.run(lambda c: c.record_contact_with_family(
            self.ctx(self.coordinator), offered_to=offered_to, contact_refs=refs, response=response),
            first((self.closed(), "case closed"),
                  (not offered_to or any(r not in case.family_refs for r in refs), "IS-R5 family only")))

    @rule(days=DAYS, request_id=IDS, requesters=PERSONS,
          roles=st.lists(st.sampled_from(list(FamilyMember)), max_size=2).map(tuple),
          written=st.booleans() | st.just(True), form=DOC)
    def record_integration_request(self, days: int, request_id: str, requesters: tuple[str, ...],
                                   roles: tuple[FamilyMember, ...], written: bool, form: str) -> None:
        case = self.prepare(days)
        refs = tuple(self.person(p) for p in requesters)
        self.run(lambda c: c.record_integration_request(
            self.ctx(Actor(PARENT_A, Role.PARENT)), request_id=request_id, requested_by_refs=refs,
            requester_roles=roles, written=written, form_doc_ref=form, settings=SETTINGS),
            first((case.status is not IcelandStatus.CONTACT, "IS-SM only from contact"),
                  (not written, "IS-R6 not written"),
                  (FamilyMember.PARENT not in roles, "IS-R6b child-only (or no) requester"),
                  (not refs or any(r not in case.family_refs for r in refs), "IS-R6 family requests")))

    @rule(days=DAYS, right_request=st.booleans(), by=PERSON)
    def withdraw_integration_request(self, days: int, right_request: bool, by: str) -> None:
        case = self.prepare(days)
        request_id = case.integration_request_id if right_request and case.integration_request_id else "id-x"
        self.run(lambda c: c.withdraw_integration_request(
            self.ctx(Actor(PARENT_A, Role.PARENT)), request_id=request_id, withdrawn_by_ref=self.person(by)),
            first((not case.request_active or self.closed(), "IS-G0 no active request"),
                  (request_id != case.integration_request_id, "IS-G0 another request"),
                  (self.person(by) not in case.family_refs, "IS-R7 family withdraws")))

    @rule(days=DAYS, coordinator=st.sampled_from([COORD_1, COORD_2, COORD_3, COORD_X]),
          institution=st.sampled_from(["secondary", "social"]),
          life_stage=st.sampled_from([LifeStage.SECONDARY, LifeStage.SOCIAL_SERVICES, LifeStage.PRIMARY]),
          declared_none=st.booleans() | st.just(True), note=MAYBE_DOC,
          school=st.sampled_from([None, SchoolStatus.NONE, SchoolStatus.SECONDARY, SchoolStatus.PRIMARY]))
    def change_coordinator(self, days: int, coordinator: str, institution: str, life_stage: LifeStage,
                           declared_none: bool, note: str | None, school: SchoolStatus | None) -> None:
        case = self.prepare(days)
        inst = self.institutions[institution]
        try:
            stages = eligible_life_stages(case.birth_date, self.now.date(), school)
        except RuleViolation:  # LIFE-2: a school the age rules out
            stages = frozenset()
        self.run(lambda c: c.change_coordinator(
            self.ctx(Actor(LEAD, Role.MUNICIPALITY_LEAD)), coordinator_ref=coordinator, institution=inst,
            life_stage_basis=life_stage, conflict_of_interest_declared_none=declared_none,
            handover_note_doc_ref=note, school_status=school),
            first((self.closed(), "case closed"),
                  (life_stage not in stages, "LIFE-1 the age and school give another stage"),
                  (not inst.is_designated(coordinator), "IS-R1 not designated"),
                  (life_stage is LifeStage.PRIMARY, "IS-R1 wrong institution"),
                  ((institution == "social") != (life_stage is LifeStage.SOCIAL_SERVICES), "IS-R1 stage"),
                  (not declared_none, "IS-INV-5 conflict of interest")))

    # ---- rows 9-12: first level ------------------------------------------------------------------------
    @rule(days=DAYS, assessor=ORG, in_days=st.integers(0, 30))
    def arrange_initial_assessment(self, days: int, assessor: str, in_days: int) -> None:
        case = self.prepare(days)
        self.run(lambda c: c.arrange_initial_assessment(
            self.ctx(self.coordinator), assessor_org_ref=assessor,
            planned_date=self.now.date() + timedelta(days=in_days)),
            first((not case.request_active or self.closed(), "IS-G0 no basis")))

    @rule(days=DAYS, service_id=st.sampled_from(["s-1", "s-2", "s-3"]), org=ORG,
          level=st.sampled_from([1, 2, 3, 1, 2, 3, 0, 4]))
    def record_service(self, days: int, service_id: str, org: str, level: int) -> None:
        case = self.prepare(days)
        self.run(lambda c: c.record_service(
            self.ctx(self.coordinator), service_id=service_id, provider_org_ref=org, service_level=level,
            service_type_code="therapy", start_date=self.now.date()),
            first((not case.request_active or self.closed(), "IS-G0 no basis"),
                  (level not in {1, 2, 3}, "IS-R10 level outside 1-3"),
                  (service_id in case.services, "IS-R10 already recorded")))

    @rule(days=DAYS, service_id=existing_or(st.sampled_from(["s-1", "s-2", "s-3"])))
    def end_service(self, days: int, service_id: str | Existing) -> None:
        case = self.prepare(days)
        service_id = resolve(service_id, case.services)
        self.run(lambda c: c.end_service(self.ctx(self.coordinator), service_id=service_id,
                                               end_date=self.now.date()),
                 first((not case.request_active or self.closed(), "IS-G0 no basis"),
                       (not case.services.get(service_id, (0, False))[1], "IS-R10 not active")))

    @rule(days=DAYS, objectives=st.lists(DOC, max_size=2).map(tuple), orgs=ORGS)
    def record_level1_plan(self, days: int, objectives: tuple[str, ...], orgs: tuple[str, ...]) -> None:
        case = self.prepare(days)
        self.run(lambda c: c.record_level1_plan(
            self.ctx(self.coordinator), objective_refs=objectives, responsible_org_refs=orgs,
            follow_up_date=self.now.date() + timedelta(days=30)),
            first((not case.request_active or self.closed(), "IS-G0 no basis"),
                  (case.status is not IcelandStatus.INTEGRATION_ACTIVE_L1, "IS-SM first level only")))

    @rule(days=DAYS, who=WHO, home=st.booleans() | st.just(True))
    def notify_need_for_case_manager(self, days: int, who: tuple[str, Role] | None, home: bool) -> None:
        case = self.prepare(days)
        actor = self.actor(who, self.coordinator)
        self.run(lambda c: c.notify_need_for_case_manager(
            self.ctx(actor), municipality_ref=case.municipality_ref if home else OTHER_MUNI),
            first((not case.request_active or self.closed(), "IS-G0 no basis"),
                  (actor.role is not Role.COORDINATOR or actor.person_ref != case.coordinator_ref,
                   "IS-R12 only the coordinator notifies"),
                  (case.status is not IcelandStatus.INTEGRATION_ACTIVE_L1, "IS-SM first level only"),
                  (not home and case.municipality_ref != OTHER_MUNI, "IS-R13 not the domicile")))

    # ---- rows 13-18: case manager and team ---------------------------------------------------------------
    @rule(days=DAYS, who=WHO, manager=st.sampled_from([CM_1, CM_2]), home=st.booleans() | st.just(True),
          needs=st.booleans() | st.just(True), long_term=st.booleans() | st.just(True),
          area=st.booleans() | st.just(True))
    def appoint_case_manager(self, days: int, who: tuple[str, Role] | None, manager: str, home: bool,
                             needs: bool, long_term: bool, area: bool) -> None:
        case = self.prepare(days)
        actor = self.actor(who, Actor(LEAD, Role.MUNICIPALITY_LEAD))
        municipality = case.municipality_ref if home else (OTHER_MUNI if case.municipality_ref == MUNI else MUNI)
        self.run(lambda c: c.appoint_case_manager(
            self.ctx(actor), case_manager_ref=manager, municipality_ref=municipality, org_unit_ref="org:velferd",
            needs_l2_l3_multilevel=needs, long_term=long_term, works_in_social_services_or_area_of_needs=area),
            first((not case.request_active or self.closed(), "IS-G0 no basis"),
                  (actor.role is not Role.MUNICIPALITY_LEAD, "IS-R13 the municipality appoints"),
                  (not home, "IS-R13 not the domicile"),
                  (not (needs and long_term), "IS-INV-2 not eligible"),
                  (not area, "IS-R13d area"),
                  (case.status is not IcelandStatus.AWAITING_CASE_MANAGER
                   and not case.case_manager_reappointment_pending, "IS-SM not awaiting a case manager")))

    @rule(days=DAYS, who=WHO, team_id=IDS, others=st.lists(
        st.tuples(st.sampled_from([PARENT_A, PARENT_B, CHILD, STRANGER, "person:provider-1", "person:provider-2"]),
                  st.sampled_from(list(MemberType))), max_size=3))
    def establish_support_team(self, days: int, who: tuple[str, Role] | None, team_id: str,
                               others: list[tuple[str, MemberType]]) -> None:
        case = self.prepare(days)
        actor = self.actor(who, self.case_manager)
        members = tuple(TeamMember(self.person(p), "org:clinic", t) for p, t in others)
        self.run(lambda c: c.establish_support_team(self.ctx(actor), team_id=team_id, members=members),
                 first((not case.request_active or self.closed(), "IS-INV-1 no active request"),
                       (self.not_case_manager(actor), "IS-R14 only the case manager"),
                       (case.status is not IcelandStatus.TEAM_FORMING, "IS-SM not forming a team"),
                       (all(m.member_type is not MemberType.SERVICE_PROVIDER_REP for m in members),
                        "IS-R14c no service provider")))

    def team_command_refusal(self, actor: Actor) -> str | None:
        case = self._case
        return first((not case.request_active or self.closed(), "IS-INV-1 no active request"),
                     (not case.team_active, "IS-R19c no team"),
                     (self.not_case_manager(actor), "IS-R14 only the case manager"))

    @rule(days=DAYS, who=WHO, person=PERSON, org=ORG, justification=MAYBE_DOC)
    def invite_general_service_provider(self, days: int, who: tuple[str, Role] | None, person: str, org: str,
                                        justification: str | None) -> None:
        case = self.prepare(days)
        actor = self.actor(who, self.case_manager)
        self.run(lambda c: c.invite_general_service_provider(
            self.ctx(actor), person_ref=self.person(person), org_ref=org, necessity_justification_ref=justification),
            self.team_command_refusal(actor) or first(
                (not justification, "IS-R15 no necessity justification"),
                (self.person(person) in case.team_members, "IS-R15 already a member")))

    @rule(days=DAYS, who=WHO, person=existing_or(PERSON))
    def remove_team_member(self, days: int, who: tuple[str, Role] | None, person: str | Existing) -> None:
        case = self.prepare(days)
        actor = self.actor(who, self.case_manager)
        ref = self.person(resolve(person, case.team_members))
        self.run(lambda c: c.remove_team_member(self.ctx(actor), person_ref=ref, reason_code="left"),
                 self.team_command_refusal(actor) or first(
                     (ref not in case.team_members, "IS-R16 not a member"),
                     (ref in case.parent_refs, "IS-R16 parents stay"),
                     (ref == case.case_manager_ref, "IS-R16 the case manager stays")))

    @rule(days=DAYS, who=WHO, meeting_id=IDS, family=st.booleans(), extra=PERSONS)
    def invite_to_team_meeting(self, days: int, who: tuple[str, Role] | None, meeting_id: str, family: bool,
                               extra: tuple[str, ...]) -> None:
        self.prepare(days)
        actor = self.actor(who, self.case_manager)
        invitees = tuple(dict.fromkeys((*(self._case.family_refs if family else ()),
                                        *(self.person(p) for p in extra))))
        self.run(lambda c: c.invite_to_team_meeting(
            self.ctx(actor), meeting_id=meeting_id, invitee_refs=invitees,
            scheduled_for=self.now.date() + timedelta(days=7)), self.team_command_refusal(actor))

    @rule(days=DAYS, who=WHO, meeting_id=existing_or(IDS), attendees=PERSONS, minutes=DOC)
    def record_team_meeting(self, days: int, who: tuple[str, Role] | None, meeting_id: str | Existing,
                            attendees: tuple[str, ...], minutes: str) -> None:
        case = self.prepare(days)
        meeting_id = resolve(meeting_id, case.meeting_invitations)
        actor = self.actor(who, self.case_manager)
        invited = case.meeting_invitations.get(meeting_id, ())
        self.run(lambda c: c.record_team_meeting(
            self.ctx(actor), meeting_id=meeting_id, attendee_refs=tuple(self.person(p) for p in attendees),
            parents_attended=True, child_attended=False, minutes_doc_ref=minutes),
            self.team_command_refusal(actor) or first(
                (any(p not in invited for p in case.parent_refs), "IS-R17 parents not invited")))

    @rule(days=DAYS, method=st.sampled_from(list(ViewsMethod)), summary=DOC)
    def record_child_views(self, days: int, method: ViewsMethod, summary: str) -> None:
        case = self.prepare(days)
        self.run(lambda c: c.record_child_views(self.ctx(self.coordinator), method=method,
                                                      summary_doc_ref=summary),
                 first((not case.request_active or self.closed(), "IS-G0 no basis")))

    # ---- rows 19-22: plans -------------------------------------------------------------------------------
    def plan_content(self, spec: PlanSpec) -> tuple[SupportPlanContent, str | None]:
        today = self.now.date()
        end = today - timedelta(days=1) if spec.inverted_duration else today + timedelta(days=180)
        missing = [e for e in PLAN_ELEMENTS if e not in spec.present]
        not_applicable = {e: "not_needed" for e in missing} if spec.reason_for_missing else {}
        if spec.unknown_reason:
            not_applicable["budget"] = "not_needed"
        content = SupportPlanContent(
            needs_assessment_ref="doc:needs" if "needs_assessment" in spec.present else None,
            objectives=("doc:goal-1",) if "objectives" in spec.present else (),
            provider_roles=(ProviderRole("org:clinic", "doc:role-1"),) if "provider_roles" in spec.present else (),
            evaluation_method="quarterly_review" if "evaluation_method" in spec.present else None,
            valid_from=today if "duration" in spec.present else None,
            valid_to=end if "duration" in spec.present else None,
            review_dates=tuple(today + timedelta(days=60 * (i + 1)) for i in range(spec.reviews)),
            participants=(PARENT_A,), parents_participated=True, not_applicable=not_applicable)
        why = first((bool(missing) and not spec.reason_for_missing, "IS-R19 element missing without reason"),
                    (spec.unknown_reason, "IS-R19 unknown element"),
                    (spec.inverted_duration and "duration" in spec.present, "IS-R19 duration ends before start"))
        return content, why

    @rule(days=DAYS, who=WHO, plan_id=IDS, spec=PLAN_SPEC)
    def adopt_support_plan(self, days: int, who: tuple[str, Role] | None, plan_id: str, spec: PlanSpec) -> None:
        case = self.prepare(days)
        actor = self.actor(who, self.case_manager)
        content, why = self.plan_content(spec)
        self.run(lambda c: c.adopt_support_plan(self.ctx(actor), plan_id=plan_id, content=content),
                 self.team_command_refusal(actor) or first(
                     (case.plan_version is not None, "IS-INV-3 a plan is already active")) or why)

    @rule(days=DAYS, who=WHO, same_plan=st.booleans() | st.just(True), off_by=st.sampled_from([0, 0, -1, 1]),
          outcome=st.sampled_from(list(EvaluationOutcome)), progress=DOC)
    def evaluate_support_plan(self, days: int, who: tuple[str, Role] | None, same_plan: bool, off_by: int,
                              outcome: EvaluationOutcome, progress: str) -> None:
        case = self.prepare(days)
        actor = self.actor(who, self.case_manager)
        version = (case.plan_version or 1) + off_by
        plan_id = case.plan_id if same_plan and case.plan_id else "plan-x"
        self.run(lambda c: c.evaluate_support_plan(
            self.ctx(actor), plan_id=plan_id, version=version, outcome=outcome, progress_doc_ref=progress,
            next_review_date=self.now.date() + timedelta(days=90)),
            self.team_command_refusal(actor) or first(
                (case.plan_version is None, "IS-R20 no plan"),
                (version != case.plan_version, "IS-INV-3 not the current version"),
                (plan_id != case.plan_id, "IS-R20 another plan")))

    @rule(days=DAYS, who=WHO, off_by=st.sampled_from([0, 0, -1, 1]), spec=PLAN_SPEC)
    def revise_support_plan(self, days: int, who: tuple[str, Role] | None, off_by: int, spec: PlanSpec) -> None:
        case = self.prepare(days)
        actor = self.actor(who, self.case_manager)
        supersedes = (case.plan_version or 1) + off_by
        content, why = self.plan_content(spec)
        self.run(lambda c: c.revise_support_plan(
            self.ctx(actor), plan_id=case.plan_id or "plan-x", supersedes_version=supersedes, content=content),
            self.team_command_refusal(actor) or first(
                (case.plan_version is None, "IS-R20 no plan"),
                (supersedes != case.plan_version, "IS-INV-3 must supersede the current version")) or why)

    @rule(days=DAYS, who=WHO, handovers=st.integers(0, 2), participated=st.booleans())
    def adopt_adult_transition_plan(self, days: int, who: tuple[str, Role] | None, handovers: int,
                                    participated: bool) -> None:
        case = self.prepare(days)
        actor = self.actor(who, self.case_manager)
        adult = case.birth_date is not None and self.now.date() >= eighteenth_birthday(case.birth_date)
        self.run(lambda c: c.adopt_adult_transition_plan(
            self.ctx(actor), plan_id="atp-1",
            adult_service_handovers=tuple(AdultServiceHandover("org:adult-services", "contact_person")
                                          for _ in range(handovers)),
            young_person_participated=participated, settings=SETTINGS),
            self.team_command_refusal(actor) or first(
                (adult, "IS-INV-7 on or after the 18th birthday"),
                (handovers == 0, "IS-R22 no handover")))

    # ---- rows 23-29: conclusion, complaints, domicile, majority, close ---------------------------------
    @rule(days=DAYS, who=WHO, outcome=st.sampled_from(list(TeamOutcome)), justification=MAYBE_DOC,
          override=st.one_of(st.none(), CODE))
    def conclude_support_team(self, days: int, who: tuple[str, Role] | None, outcome: TeamOutcome,
                              justification: str | None, override: str | None) -> None:
        case = self.prepare(days)
        actor = self.actor(who, self.case_manager)
        self.run(lambda c: c.conclude_support_team(
            self.ctx(actor), outcome=outcome, justification_doc_ref=justification, settings=SETTINGS,
            override_reason_code=override),
            self.team_command_refusal(actor) or first(
                (outcome is TeamOutcome.CONCLUDED_WITHOUT_PLAN and not justification, "IS-INV-6 no justification"),
                (outcome is TeamOutcome.CONCLUDED_WITHOUT_PLAN and case.status is IcelandStatus.PLAN_ACTIVE,
                 "IS-SM a plan exists"),
                (outcome is TeamOutcome.GOALS_MET and case.status is not IcelandStatus.PLAN_ACTIVE,
                 "IS-SM no plan whose goals were met"),
                (outcome is TeamOutcome.AGE_OUT and case.transition_plan_adopted_on is None and not override,
                 "IS-R23 age-out without transition plan"),
                (outcome is TeamOutcome.WITHDRAWN, "IS-R23 withdrawal is the family's")))

    @rule(days=DAYS, complaint_id=IDS, complainant=PERSON,
          capacity=st.sampled_from(list(ComplainantCapacity)), subject=st.sampled_from(list(ComplaintSubject)))
    def record_complaint(self, days: int, complaint_id: str, complainant: str, capacity: ComplainantCapacity,
                         subject: ComplaintSubject) -> None:
        case = self.prepare(days)
        self.run(lambda c: c.record_complaint(
            self.ctx(Actor(STRANGER, Role.SUPERVISOR)), complaint_id=complaint_id,
            complainant_ref=self.person(complainant), complainant_capacity=capacity, subject=subject),
            first((capacity is ComplainantCapacity.OTHER, "IS-R25 not the user or a representative"),
                  (subject is ComplaintSubject.TEAM_CONCLUDED_WITHOUT_PLAN
                   and case.status is not IcelandStatus.CLOSED_WITHOUT_PLAN, "IS-R25b nothing to complain about"),
                  (complaint_id in case.complaints, "IS-R25 already recorded")))

    @rule(days=DAYS, complaint_id=existing_or(IDS), summary=DOC)
    def record_complaint_outcome(self, days: int, complaint_id: str | Existing, summary: str) -> None:
        case = self.prepare(days)
        complaint_id = resolve(complaint_id, case.complaints)
        self.run(lambda c: c.record_complaint_outcome(
            self.ctx(Actor(STRANGER, Role.SUPERVISOR)), complaint_id=complaint_id, outcome_summary_ref=summary,
            recommendation_codes=("r_1",), deadline_for_improvement=self.now.date() + timedelta(days=60)),
            first((complaint_id not in case.complaints, "IS-R26 outcome before the complaint"),
                  (case.complaints.get(complaint_id, False), "IS-R26 outcome already recorded")))

    @rule(days=DAYS, to=st.sampled_from([MUNI, OTHER_MUNI, "muni:hafnarfjordur", "org:not-a-muni"]))
    def change_domicile(self, days: int, to: str) -> None:
        case = self.prepare(days)
        self.run(lambda c: c.change_domicile(self.ctx(Actor(LEAD, Role.MUNICIPALITY_LEAD)),
                                                   to_municipality_ref=to),
                 first((self.closed(), "case closed"), (to == case.municipality_ref, "IS-R27 same municipality")))

    @rule(days=DAYS)
    def record_majority(self, days: int) -> None:
        case = self.prepare(days)
        assert case.birth_date is not None
        self.run(lambda c: c.record_majority(self.ctx(SYSTEM_ACTOR), settings=SETTINGS),
                 first((self.closed(), "case closed"),
                       (self.now.date() < eighteenth_birthday(case.birth_date), "IS-R28 still a child")))

    @rule(days=DAYS)
    def record_due_deadlines(self, days: int) -> None:
        case = self.prepare(days)
        self.run(lambda c: c.record_due_deadlines(self.ctx(SYSTEM_ACTOR), settings=CLOCK_SETTINGS),
                 first((not clock.due(case, self.now.date(), CLOCK_SETTINGS), "CLOCK-1 nothing due")))

    @rule(days=DAYS, reason=CODE)
    def close_case(self, days: int, reason: str) -> None:
        case = self.prepare(days)
        self.run(lambda c: c.close_case(self.ctx(self.coordinator), closure_reason=reason),
                 first((self.closed(), "case closed"), (case.team_active, "IS-R29 the team is still working")))

    # ---- invariants over the stored facts --------------------------------------------------------------
    @invariant()
    def the_case_in_memory_is_the_stored_case(self) -> None:
        if self.case_ids:
            assert not self._case.pending_events
            assert observable(self.app.repository.get(self._case.id)) == observable(self._case)

    @invariant()
    def stored_facts_obey_the_act(self) -> None:
        for case_id in self.case_ids:
            self.check_case_facts(case_id, self.events(case_id))

    def check_case_facts(self, case_id: UUID, events: Sequence[Any]) -> None:
        created = events[0]
        assert type(created).__name__ == "ContactRegistered"
        parents, majority = tuple(created.parent_refs), eighteenth_birthday(created.birth_date)
        request_active = closed = False
        case_manager: str | None = None
        plan_version: int | None = None
        services: dict[str, tuple[int, bool]] = {}
        standing: int | None = None
        for index, event in enumerate(events):
            name = type(event).__name__
            if closed:
                assert name in IS_CLOSED_FACTS, f"{name} recorded on a closed case"
            if name == "IntegrationRequested":
                request_active = True
            elif name == "IntegrationRequestWithdrawn":
                request_active, closed = False, True
            elif name == "CaseManagerAppointed":
                case_manager = event.case_manager_ref
            elif name == "SupportTeamEstablished":
                assert request_active, "IS-INV-1: a team without an active integration request"
                assert case_manager is not None, "IS-R14: a team without a case manager"
            elif name == "SupportPlanAdopted":
                assert plan_version is None and event.version == 1, "IS-INV-3: a second active plan"
                plan_version = event.version
            elif name == "SupportPlanRevised":
                assert plan_version is not None, "IS-INV-3: a revision without a plan"
                assert event.supersedes_version == plan_version and event.version == plan_version + 1, \
                    "IS-INV-3: versions increase by one"
                plan_version = event.version
            elif name == "SupportTeamConcluded":
                closed = event.outcome != TeamOutcome.REFERRED_BACK_TO_COORDINATOR
                plan_version = plan_version if closed else None  # a closed case keeps its last plan
                if event.outcome == TeamOutcome.CONCLUDED_WITHOUT_PLAN:
                    self.check_conclusion_notice(event, events[index + 1:], parents, case_manager)
            elif name == "AdultTransitionPlanAdopted":
                assert event.ctx.occurred_at.date() < majority, "IS-INV-7: transition plan at or after 18"
            elif name in {"ServiceRecorded", "ServiceEnded"}:
                assert name == "ServiceEnded" or event.service_level in {1, 2, 3}, "IS-R10: service level outside 1-3"
                level = event.service_level if name == "ServiceRecorded" else services[event.service_id][0]
                services[event.service_id] = (level, name == "ServiceRecorded")
                highest = max((lv for lv, on in services.values() if on), default=None)
                follows = type(events[index + 1]).__name__ if index + 1 < len(events) else ""
                # the level stands while no service is active; it changes exactly when the highest active one does
                expected = "" if highest is None or highest == standing else (
                    "LevelRaised" if standing is None or highest > standing else "LevelLowered")
                assert (follows if follows in {"LevelRaised", "LevelLowered"} else "") == expected, \
                    f"{name}: expected {expected or 'no level fact'} from {standing} to {highest}"
            elif name in {"LevelRaised", "LevelLowered"}:
                assert event.from_level == standing, f"{name} from {event.from_level}, but the level was {standing}"
                assert event.to_level == max(lv for lv, on in services.values() if on)
                standing = event.to_level
            elif name in {"CaseClosed", "ChildReachedMajority"}:
                closed = True
                if name == "ChildReachedMajority":
                    assert event.on >= majority, "IS-R28: majority recorded before the 18th birthday"
        case: IcelandCase = self.app.repository.get(case_id)
        highest = max((lv for lv, on in services.values() if on), default=None)
        assert case.highest_level == highest and (highest is None or highest in {1, 2, 3})
        assert all(level in {1, 2, 3} for level, _ in case.services.values())
        assert case.plan_version == plan_version, "IS-INV-3: the case's active plan is not the stored one"
        if case.status in TEAM_STATES:
            assert case.request_active and request_active, "IS-INV-1: a team without an active request"
            assert case.team_id is not None
            assert all(p in case.team_members for p in case.parent_refs), \
                "IS-R16: parents are members of the support team and stay on it"
        assert case.is_open == (not closed), "closed facts and the case's status disagree"
        assert (case.status is IcelandStatus.WITHDRAWN) == any(
            type(e).__name__ == "IntegrationRequestWithdrawn" for e in events)

    @staticmethod
    def check_conclusion_notice(concluded: Any, after: Sequence[Any], parents: tuple[str, ...],
                                case_manager: str | None) -> None:
        """IS-INV-6: a justification, then at once the notice to every parent and the case manager, with the
        justification and the GEV complaint information."""
        assert concluded.justification_doc_ref, "IS-INV-6: concluded without a plan and without justification"
        assert after and type(after[0]).__name__ == "TeamConclusionNotified", "IS-INV-6: no conclusion notice"
        notice = after[0]
        required = {*parents, *([case_manager] if case_manager else [])}
        assert required <= set(notice.recipient_refs), "IS-INV-6: a parent or the case manager not notified"
        assert notice.justification_doc_ref == concluded.justification_doc_ref
        assert notice.complaint_info_included is True and notice.complaint_body == "GEV"


# ==== Norway ===============================================================================================

NO_CLOSED_FACTS = {"ComplaintReceived", "ComplaintReconsidered", "ComplaintForwardedToStatsforvalteren",
                   "StatsforvalterenDecisionRecorded", "ConsentWithdrawn"}
"""The only facts an ended or closed Norwegian case may still gain, but for one: an ended case whose
standing decision a complaint changed may be granted an ordinary coordinator after 18 (and so reopens)."""
STANDING_UNTIL_A_COMPLAINT = {Decision.REFUSED, Decision.TERMINATED, Decision.ORDINARY_COORDINATOR_AFTER_18_REFUSED}
STAGE_ORDER = {"ComplaintReceived": 0, "ComplaintReconsidered": 1, "ComplaintForwardedToStatsforvalteren": 2,
               "StatsforvalterenDecisionRecorded": 3}
AFTER_18_DAYS = SETTINGS.no_ordinary_coordinator_decision_days or 0
UNIT = "org:koordinerende-enhet"
DUTY_FACTS = {"CoordinatorGuidanceGiven", "ReferralCommunicated", "ServiceFollowedUp", "ReassessmentInitiated",
              "FamilyViewsRecorded", "SpecialistCoordinatorLinked"}
COMPLAINABLE = {Decision.REFUSED, Decision.CHANGED, Decision.TERMINATED, Decision.ORDINARY_COORDINATOR_AFTER_18_REFUSED}
"""pbrl ch. 7 grounds (domain.md §2.4): refusal, change, termination, no ordinary coordinator after 18."""
DECISION_ALLOWED_FROM = {
    Decision.GRANTED: {NorwayStatus.ASSESSED, NorwayStatus.REFUSED, NorwayStatus.TERMINATED},
    Decision.REFUSED: {NorwayStatus.ASSESSED},
    Decision.CHANGED: {NorwayStatus.ACTIVE},
    Decision.TERMINATED: {NorwayStatus.ACTIVE, NorwayStatus.GRANTED},
    Decision.ORDINARY_COORDINATOR_AFTER_18_GRANTED: {NorwayStatus.ORDINARY_COORDINATOR_ASSESSMENT, NorwayStatus.ENDED},
    Decision.ORDINARY_COORDINATOR_AFTER_18_REFUSED: {NorwayStatus.ORDINARY_COORDINATOR_ASSESSMENT},
}
"""The diagram of domain.md §2.4, written out independently of the domain's own table (a terminated
decision may also end a grant the family never consented to)."""
IP_ITEMS = ("goals", "participants", "responsible", "contributions", "measures", "implementation", "period",
            "cooperation")


class IndividualPlanSpec(NamedTuple):
    consent_to_plan: bool
    consent_to_sharing: bool
    missing: str | None


IP_SPEC = st.builds(IndividualPlanSpec, consent_to_plan=st.booleans() | st.just(True),
                    consent_to_sharing=st.booleans() | st.just(True),
                    missing=st.one_of(st.none(), st.none(), st.sampled_from(IP_ITEMS)))


def individual_plan(spec: IndividualPlanSpec, today: date) -> IndividualPlanContent:
    def ref(item: str) -> str | None:
        return None if spec.missing == item else f"doc:ip-{item}"

    return IndividualPlanContent(
        goals_resources_and_needs_ref=ref("goals"),
        participants=() if spec.missing == "participants" else (PARENT_A,),
        responsible_for_coordination_ref=ref("responsible"), contributions_ref=ref("contributions"),
        measures_ref=ref("measures"), implementation_ref=ref("implementation"),
        plan_period_from=None if spec.missing == "period" else today,
        plan_period_to=today + timedelta(days=365), revision_dates=(today + timedelta(days=180),),
        recipient_consent_to_plan=spec.consent_to_plan, recipient_consent_to_sharing=spec.consent_to_sharing,
        cooperation_with_other_services_ref=ref("cooperation"))


class NorwayCaseMachine(CaseMachine):
    """pbrl § 2-5 c: request, assessment, written decisions, consent, appointment, coordination, the
    individual plan, complaints (municipality, then Statsforvalteren) and the transition at 18."""

    def person(self, ref: str) -> str:
        return self._case.child_ref if ref == CHILD else ref

    def open_case(self, age_days: int, expecting: bool) -> None:
        case = NorwayCase.request_barnekoordinator(
            self.ctx(Actor(PARENT_A, Role.PARENT)), child_ref=self.new_child_ref(), parent_refs=(PARENT_A, PARENT_B),
            birth_date=None if expecting else self.now.date() - timedelta(days=age_days),
            municipality_ref="muni:bodo", request_id="req-1", channel=RequestChannel.ORAL,
            requested_by_ref=PARENT_A,
            family_status=FamilyStatus.EXPECTING_PREGNANCY if expecting else FamilyStatus.CHILD_UNDER_18,
            settings=SETTINGS)
        self._case = self.save_new(case)

    def run(self, command: Callable[[NorwayCase], object], refuse_because: str | None = None) -> None:
        self._case = self.attempt(self._case, command, refuse_because)

    def lawful(self, command: Callable[[NorwayCase], object]) -> None:
        self._case = self.attempt(self._case, command, None, must_accept=True)

    def prepare(self, days: int) -> NorwayCase:
        self.tick(days)
        return self._case

    def staff(self) -> Context:
        return self.ctx(Actor("person:saksbehandler", Role.MUNICIPAL_STAFF, "org:koordinerende-enhet"))

    def closed(self) -> bool:
        return not self._case.is_open

    @initialize(age_days=AGE_AT_START_DAYS, expecting=st.sampled_from([False] * 5 + [True]), warm_up=WARM_UP)
    def request_barnekoordinator(self, age_days: int, expecting: bool, warm_up: list[tuple[int, int]]) -> None:
        self.open_case(age_days, expecting)
        self.take(warm_up)

    @precondition(lambda self: not self._case.is_open)
    @rule(days=DAYS, age_days=AGE_AT_START_DAYS)
    def request_for_next_child(self, days: int, age_days: int) -> None:
        self.tick(days)
        self.open_case(age_days, expecting=False)

    # ---- the lawful path (each step must be accepted) ----------------------------------------------------
    @rule(days=DAYS, branches=BRANCHES)
    def follow_the_lifecycle(self, days: int, branches: list[tuple[int, int]]) -> None:
        """Take lawful next steps of domain.md §2.4 from wherever the case is (a new child's case once it
        ended): random commands rarely line up, so this rule carries the case into every state."""
        self.tick(days)
        self.take(branches)

    def unlawful_step(self, variant: int) -> None:
        """One command the right refuses in every state, chosen among those whose own guard is the one that
        decides in the case's current state (so removing that guard would let it through)."""
        case, status = self._case, self._case.status
        coordinating = (status in {NorwayStatus.ACTIVE, NorwayStatus.ADULT_COORDINATOR} and case.consent_active
                        and case.coordinator_ref is not None)
        may_grant = (status is NorwayStatus.ASSESSED and case.criteria is not None and case.criteria.all_met) or (
            status in {NorwayStatus.REFUSED, NorwayStatus.TERMINATED} and case.new_decision_allowed)
        coordinator = self.ctx(Actor(case.coordinator_ref or "person:bk-1", Role.COORDINATOR))
        granted = [d for d, (kind, _) in case.decisions.items() if kind is Decision.GRANTED]
        not_lodged = [k for k, (_, stage) in case.complaints.items()
                      if stage in {ComplaintStage.UNDER_RECONSIDERATION, ComplaintStage.DECISION_CHANGED}]
        not_forwarded = [k for k, (_, stage) in case.complaints.items()
                         if stage in {ComplaintStage.UNDER_RECONSIDERATION, ComplaintStage.LODGED}]
        wrong_decision = Decision.REFUSED if case.status is not NorwayStatus.ASSESSED else Decision.CHANGED
        day_before_18 = (eighteenth_birthday(case.birth_date) if case.birth_date else self.now.date()) - timedelta(1)
        attempts: list[tuple[bool, Callable[[NorwayCase], object], str]] = [
            (coordinating, lambda c: c.issue_coordination_instruction(
                coordinator, target_service_org_ref="org:bup", detail_doc_ref="doc:i",
                instruction_type=(InstructionType.SERVICE_CONTENT, InstructionType.SERVICE_METHOD)[variant // 12 % 2]),
             "NO-R6 instruction about service content or method"),
            (status is NorwayStatus.GRANTED and case.consent_active,
             lambda c: c.appoint_barnekoordinator(self.staff(), coordinator_ref="person:bk-9",
                                                  unit_ref="org:koordinerende-enhet", family_wishes_considered=False),
             "NO-R5 wishes not considered"),
            (may_grant, lambda c: c.issue_decision(
                self.staff(), decision_id="d-x", decision=Decision.GRANTED, written=True, justification_doc_ref=None,
                appeal_info_included=True, delivered_at=self.now, settings=SETTINGS), "NO-R3 no reasons"),
            (status is NorwayStatus.REQUESTED, lambda c: c.assess_eligibility(
                self.staff(), criteria=EligibilityCriteria(True, True, True), diagnosis_required=True,
                family_views_doc_ref="doc:f", child_views_doc_ref="doc:c"), "NO-R2 diagnosis required"),
            (bool(granted), lambda c: c.receive_complaint(self.staff(), complaint_id="k-x", decision_id=granted[-1],
                                           received_by_ref="org:koordinerende-enhet", settings=SETTINGS),
             "NO-R9 nothing to complain about"),
            (bool(not_lodged), lambda c: c.forward_complaint(self.staff(), complaint_id=not_lodged[-1]),
             "NO-R11 forwarded out of order"),
            (case.is_open, lambda c: c.issue_decision(
                self.staff(), decision_id="d-y", decision=wrong_decision, written=True,
                justification_doc_ref="doc:j", appeal_info_included=True, delivered_at=self.now, settings=SETTINGS),
             "NO-SM a decision the state does not allow"),
            (case.is_open and case.birth_date is not None and status not in {
                NorwayStatus.ORDINARY_COORDINATOR_ASSESSMENT, NorwayStatus.ADULT_COORDINATOR},
             lambda c: c.record_majority(on_day(SYSTEM_ACTOR, day_before_18), settings=SETTINGS),
             "NO-R1 the day before the 18th birthday"),
            (coordinating, lambda c: c.issue_coordination_instruction(
                self.ctx(Actor(STRANGER, Role.COORDINATOR)), target_service_org_ref="org:bup",
                instruction_type=InstructionType.TIMING, detail_doc_ref="doc:i"), "NO-R6 not the coordinator"),
            (coordinating, lambda c: c.adopt_individual_plan(coordinator, plan_id="ip-x", content=individual_plan(
                IndividualPlanSpec(False, True, None), self.now.date())), "NO-R7 no consent to the plan"),
            (True, lambda c: c.record_consent(self.staff(), consent_id="consent-x", given_by_refs=(STRANGER,),
                                        scope_service_org_refs=(), form_doc_ref="doc:c"), "NO-R4 not the family"),
            (bool(not_forwarded), lambda c: c.record_statsforvalteren_decision(
                self.ctx(Actor("person:sf", Role.SUPERVISOR)), complaint_id=not_forwarded[0],
                outcome=StatsforvalterenOutcome.DECISION_REVERSED, doc_ref="doc:sf"), "NO-R12 not forwarded"),
        ]
        relevant = [(command, why) for here, command, why in attempts if here]
        command, why = relevant[variant % len(relevant)]
        self.run(command, why)

    def decide(self, decision: Decision) -> None:
        self.lawful(lambda c: c.issue_decision(
            self.staff(), decision_id=f"d-l{len(c.decisions)}", decision=decision, written=True,
            justification_doc_ref="doc:reasons", appeal_info_included=True, delivered_at=self.now, settings=SETTINGS))

    def lawful_step(self, branch: int) -> None:
        case, status = self._case, self._case.status
        adult = case.birth_date is not None and self.now.date() >= eighteenth_birthday(case.birth_date)
        open_complaints = [k for k, (_, stage) in case.complaints.items()
                           if stage not in {ComplaintStage.DECISION_CHANGED, ComplaintStage.DECIDED}]
        if open_complaints and branch % 4 != 3:  # complaints outlive the case
            self.lawful_complaint_step(open_complaints[0], branch)
        elif status is NorwayStatus.ENDED and case.new_decision_allowed:
            self.decide(Decision.ORDINARY_COORDINATOR_AFTER_18_GRANTED)
        elif status is NorwayStatus.ENDED and branch % 3 == 2 and self.complainable():
            self.complain(self.complainable()[-1])
        elif not case.is_open:
            self.open_case(17 * 365 + 30 * branch, expecting=False)  # 17.0 to 17.9 years old
        elif adult and status not in {NorwayStatus.ORDINARY_COORDINATOR_ASSESSMENT, NorwayStatus.ADULT_COORDINATOR}:
            self.lawful(lambda c: c.record_majority(self.ctx(SYSTEM_ACTOR), settings=SETTINGS))
        elif status is NorwayStatus.REQUESTED and branch == 11:
            self.lawful(lambda c: c.close_case(self.staff(), closure_reason="family_moved"))
        elif status is NorwayStatus.REQUESTED:
            self.lawful(lambda c: c.assess_eligibility(
                self.staff(), criteria=EligibilityCriteria(True, branch != 0, True), diagnosis_required=False,
                family_views_doc_ref="doc:family-views",
                child_views_doc_ref=None if c.birth_date is None else "doc:child-views"))
        elif status is NorwayStatus.ASSESSED:
            met = case.criteria is not None and case.criteria.all_met
            self.decide(Decision.GRANTED if met and branch != 1 else Decision.REFUSED)
        elif status in {NorwayStatus.REFUSED, NorwayStatus.TERMINATED}:
            if case.new_decision_allowed:
                self.decide(Decision.GRANTED)
            else:  # a complaint about the standing decision or, at times, an earlier one
                complainable = self.complainable()
                self.complain(complainable[-2] if branch % 3 == 2 and len(complainable) > 1 else complainable[-1])
        elif not case.consent_active and status in {NorwayStatus.GRANTED, NorwayStatus.ACTIVE,
                                                    NorwayStatus.ADULT_COORDINATOR}:
            self.lawful(lambda c: c.record_consent(
                self.staff(), consent_id=f"consent-{c.version}", given_by_refs=c.parent_refs,
                scope_service_org_refs=("org:bup", "org:fsu"), form_doc_ref="doc:consent"))
        elif status is NorwayStatus.GRANTED:
            if branch == 1:
                self.decide(Decision.TERMINATED)
            else:
                self.lawful(lambda c: c.appoint_barnekoordinator(
                    self.staff(), coordinator_ref=f"person:bk-{branch % 2 + 1}", unit_ref="org:koordinerende-enhet",
                    family_wishes_considered=True))
        elif status is NorwayStatus.ADULT_COORDINATOR and case.coordinator_ref is None:
            # granted after a complaint reopened an ended case: the domain has no way to appoint anyone then
            self.lawful(lambda c: c.close_case(self.staff(), closure_reason="no_coordinator_appointed"))
        elif status in {NorwayStatus.ACTIVE, NorwayStatus.ADULT_COORDINATOR}:
            self.lawful_coordination_step(branch)
        elif status is NorwayStatus.ORDINARY_COORDINATOR_ASSESSMENT:
            self.decide(Decision.ORDINARY_COORDINATOR_AFTER_18_GRANTED if branch % 2
                        else Decision.ORDINARY_COORDINATOR_AFTER_18_REFUSED)

    def complainable(self) -> list[str]:
        return [d for d, (kind, _) in self._case.decisions.items() if kind in COMPLAINABLE]

    def complain(self, decision_id: str) -> None:
        self.lawful(lambda c: c.receive_complaint(
            self.staff(), complaint_id=f"k-l{len(c.complaints)}", decision_id=decision_id,
            received_by_ref="org:koordinerende-enhet", settings=SETTINGS))

    def lawful_coordination_step(self, branch: int) -> None:
        coordinator = self.ctx(Actor(self._case.coordinator_ref or "", Role.COORDINATOR))
        active = self._case.status is NorwayStatus.ACTIVE
        if branch == 0 and active:
            self.decide(Decision.CHANGED)
        elif branch == 1 and active:
            self.decide(Decision.TERMINATED)
        elif branch == 1:
            self.lawful(lambda c: c.close_case(self.staff(), closure_reason="adult_services_took_over"))
        elif branch == 2:
            self.lawful(lambda c: c.withdraw_consent(self.staff(), consent_id=c.consent_id or "",
                                                     withdrawn_by_ref=PARENT_A))
        elif branch in {3, 4, 5}:
            self.lawful(lambda c: c.adopt_individual_plan(
                coordinator, plan_id=f"ip-{c.version}",
                content=individual_plan(IndividualPlanSpec(True, True, None), self.now.date())))
        else:
            kinds = (InstructionType.INFORMATION_EXCHANGE, InstructionType.MEETING_ATTENDANCE, InstructionType.TIMING)
            self.lawful(lambda c: c.issue_coordination_instruction(
                coordinator, target_service_org_ref="org:bup", instruction_type=kinds[branch % 3],
                detail_doc_ref="doc:instruction"))

    def lawful_complaint_step(self, complaint_id: str, branch: int) -> None:
        stage = self.stage(complaint_id)
        if stage is ComplaintStage.UNDER_RECONSIDERATION:
            upheld = ReconsiderationOutcome.UPHELD if branch % 4 == 1 else ReconsiderationOutcome.NOT_UPHELD
            self.lawful(lambda c: c.reconsider_complaint(self.staff(), complaint_id=complaint_id, outcome=upheld,
                                                         reasons_doc_ref="doc:reconsidered"))
        elif stage is ComplaintStage.LODGED:
            self.lawful(lambda c: c.forward_complaint(self.staff(), complaint_id=complaint_id))
        else:
            decided = list(StatsforvalterenOutcome)[branch % 3]
            self.lawful(lambda c: c.record_statsforvalteren_decision(
                self.ctx(Actor("person:sf", Role.SUPERVISOR)), complaint_id=complaint_id, outcome=decided,
                doc_ref="doc:sf"))

    @rule(days=DAYS, defect=st.sampled_from(["adult", "no_birth_date", "future_birth", "national_id"]))
    def request_refused(self, days: int, defect: str) -> None:
        self.tick(days)
        today = self.now.date()
        birth = {"adult": today - timedelta(days=18 * 366), "no_birth_date": None,
                 "future_birth": today + timedelta(days=2)}.get(defect, today - timedelta(days=3000))
        self.refuse_new(lambda: NorwayCase.request_barnekoordinator(
            self.ctx(Actor(PARENT_A, Role.PARENT)), child_ref="person:other-child", parent_refs=(PARENT_A,),
            birth_date=birth, municipality_ref="muni:bodo", request_id="req-x", channel=RequestChannel.WRITTEN,
            requested_by_ref="person:0101012345" if defect == "national_id" else PARENT_A,
            family_status=FamilyStatus.CHILD_UNDER_18, settings=SETTINGS), defect)

    @rule(days=DAYS, met=st.tuples(st.booleans(), st.booleans(), st.booleans()) | st.just((True, True, True)),
          diagnosis_required=st.booleans() | st.just(False), family_views=MAYBE_DOC,
          child_views=MAYBE_DOC)
    def assess_eligibility(self, days: int, met: tuple[bool, bool, bool], diagnosis_required: bool,
                           family_views: str | None, child_views: str | None) -> None:
        case = self.prepare(days)
        self.run(lambda c: c.assess_eligibility(
            self.staff(), criteria=EligibilityCriteria(*met), diagnosis_required=diagnosis_required,
            family_views_doc_ref=family_views, child_views_doc_ref=child_views),
            first((case.status is not NorwayStatus.REQUESTED, "NO-SM assessed already"),
                  (diagnosis_required, "NO-R2 diagnosis required"),
                  (not family_views, "NO-R2b no family views"),
                  (case.birth_date is not None and not child_views, "NO-R2b no child views")))

    @rule(days=DAYS, decision_id=st.sampled_from(["d-1", "d-2", "d-3", "d-4", "d-5"]),
          decision=st.sampled_from(list(Decision)), written=st.booleans() | st.just(True), justification=MAYBE_DOC,
          appeal_info=st.booleans() | st.just(True), delivered_in=st.integers(-3, 10))
    def issue_decision(self, days: int, decision_id: str, decision: Decision, written: bool,
                       justification: str | None, appeal_info: bool, delivered_in: int) -> None:
        case = self.prepare(days)
        self.run(lambda c: c.issue_decision(
            self.staff(), decision_id=decision_id, decision=decision, written=written,
            justification_doc_ref=justification, appeal_info_included=appeal_info,
            delivered_at=self.now + timedelta(days=delivered_in), settings=SETTINGS),
            first((self.closed() and not (case.status is NorwayStatus.ENDED and case.new_decision_allowed),
                   "case closed"),
                  (case.status not in DECISION_ALLOWED_FROM[decision], "NO-SM wrong state for the decision"),
                  (decision is Decision.GRANTED and case.status is NorwayStatus.ASSESSED
                   and not (case.criteria is not None and case.criteria.all_met), "NO-R3b conditions not met"),
                  (decision_id in case.decisions, "NO-R3 already issued"),
                  (not (written and justification and appeal_info), "NO-R3 not written, reasoned, appealable"),
                  (case.status in {NorwayStatus.REFUSED, NorwayStatus.TERMINATED, NorwayStatus.ENDED}
                   and not case.new_decision_allowed, "NO-SM the earlier decision stands")))

    @rule(days=DAYS, consent_id=IDS, given_by=PERSONS, scope=ORGS, form=DOC)
    def record_consent(self, days: int, consent_id: str, given_by: tuple[str, ...], scope: tuple[str, ...],
                       form: str) -> None:
        case = self.prepare(days)
        givers = tuple(self.person(p) for p in given_by)
        family = (*case.parent_refs, case.child_ref)
        self.run(lambda c: c.record_consent(self.staff(), consent_id=consent_id, given_by_refs=givers,
                                            scope_service_org_refs=scope, form_doc_ref=form),
                 first((self.closed(), "case closed"),
                       (not givers or any(g not in family for g in givers), "NO-R4 not the family")))

    @rule(days=DAYS, right_consent=st.booleans() | st.just(True), by=PERSON)
    def withdraw_consent(self, days: int, right_consent: bool, by: str) -> None:
        case = self.prepare(days)
        consent_id = case.consent_id if right_consent and case.consent_id else "id-x"
        self.run(lambda c: c.withdraw_consent(self.staff(), consent_id=consent_id,
                                              withdrawn_by_ref=self.person(by)),
                 first((consent_id != case.consent_id, "NO-G0 no such active consent")))

    @rule(days=DAYS, coordinator=st.sampled_from(["person:bk-1", "person:bk-2"]),
          wishes=st.booleans() | st.just(True))
    def appoint_barnekoordinator(self, days: int, coordinator: str, wishes: bool) -> None:
        case = self.prepare(days)
        self.run(lambda c: c.appoint_barnekoordinator(self.staff(), coordinator_ref=coordinator,
                                                      unit_ref="org:koordinerende-enhet",
                                                      family_wishes_considered=wishes),
                 first((case.status is not NorwayStatus.GRANTED, "NO-SM not granted"),
                       (not case.consent_active, "NO-R4 no consent"),
                       (not wishes, "NO-R5 wishes not considered")))

    def coordination_refusal(self, actor: Actor) -> str | None:
        case = self._case
        return first((not case.consent_active, "NO-G0 no consent"),
                     (case.status not in {NorwayStatus.ACTIVE, NorwayStatus.ADULT_COORDINATOR}, "NO-SM not active"),
                     (actor.person_ref != case.coordinator_ref, "NO-R6 not the coordinator"))

    @rule(days=DAYS, who=WHO, service=ORG, instruction=st.sampled_from(list(InstructionType)), detail=DOC)
    def issue_coordination_instruction(self, days: int, who: tuple[str, Role] | None, service: str,
                                       instruction: InstructionType, detail: str) -> None:
        case = self.prepare(days)
        actor = self.actor(who, Actor(case.coordinator_ref or "person:bk-1", Role.COORDINATOR))
        self.run(lambda c: c.issue_coordination_instruction(
            self.ctx(actor), target_service_org_ref=service, instruction_type=instruction, detail_doc_ref=detail),
            self.coordination_refusal(actor) or first(
                (instruction in {InstructionType.SERVICE_CONTENT, InstructionType.SERVICE_METHOD},
                 "NO-R6 instruction about service content or method")))

    @rule(days=DAYS, who=WHO, plan_id=IDS, spec=IP_SPEC)
    def adopt_individual_plan(self, days: int, who: tuple[str, Role] | None, plan_id: str,
                              spec: IndividualPlanSpec) -> None:
        case = self.prepare(days)
        actor = self.actor(who, Actor(case.coordinator_ref or "person:bk-1", Role.COORDINATOR))
        content = individual_plan(spec, self.now.date())
        self.run(lambda c: c.adopt_individual_plan(self.ctx(actor), plan_id=plan_id, content=content),
                 self.coordination_refusal(actor) or first(
                     (not (spec.consent_to_plan and spec.consent_to_sharing), "NO-R7 no consent to the plan"),
                     (spec.missing is not None, "NO-R7 § 19 item missing")))

    # ---- the coordinator's duties after the decision (seed 002; issue 12) ------------------------------
    def duty_actor(self, who: tuple[str, Role] | None) -> Actor:
        return self.actor(who, Actor(self._case.coordinator_ref or "person:bk-1", Role.COORDINATOR))

    def outside_family(self, refs: tuple[str, ...]) -> bool:
        family = (*self._case.parent_refs, self._case.child_ref)
        return not refs or any(ref not in family for ref in refs)

    @rule(days=DAYS, who=WHO, topics=st.lists(st.sampled_from(list(GuidanceTopic)), max_size=3).map(tuple),
          given_to=PERSONS, summary=DOC)
    def record_guidance_given(self, days: int, who: tuple[str, Role] | None, topics: tuple[GuidanceTopic, ...],
                              given_to: tuple[str, ...], summary: str) -> None:
        self.prepare(days)
        actor, given_to = self.duty_actor(who), tuple(self.person(ref) for ref in given_to)
        self.run(lambda c: c.record_guidance_given(self.ctx(actor), topics=topics, given_to_refs=given_to,
                                                   summary_doc_ref=summary),
                 self.coordination_refusal(actor) or first((self.outside_family(given_to), "NO-R15 not the family"),
                                                           (not topics, "NO-R15 no topic")))

    @rule(days=DAYS, who=WHO, kind=st.sampled_from(list(ReferralKind)), topic=st.sampled_from(list(GuidanceTopic)),
          service=ORG, summary=DOC)
    def communicate_referral(self, days: int, who: tuple[str, Role] | None, kind: ReferralKind,
                             topic: GuidanceTopic, service: str, summary: str) -> None:
        self.prepare(days)
        actor = self.duty_actor(who)
        self.run(lambda c: c.communicate_referral(self.ctx(actor), kind=kind, topic=topic, target_org_ref=service,
                                                  summary_doc_ref=summary), self.coordination_refusal(actor))

    @rule(days=DAYS, who=WHO, service=ORG, purpose=st.sampled_from(list(FollowUpPurpose)), detail=DOC)
    def follow_up_with_service(self, days: int, who: tuple[str, Role] | None, service: str,
                               purpose: FollowUpPurpose, detail: str) -> None:
        self.prepare(days)
        actor = self.duty_actor(who)
        self.run(lambda c: c.follow_up_with_service(self.ctx(actor), target_service_org_ref=service, purpose=purpose,
                                                    detail_doc_ref=detail),
                 self.coordination_refusal(actor) or first(
                     (purpose in {FollowUpPurpose.SERVICE_CONTENT, FollowUpPurpose.SERVICE_METHOD},
                      "NO-R16 follow-up about service content or method")))

    @rule(days=DAYS, who=WHO, service=ORG, reason=st.sampled_from(list(ReassessmentReason)), detail=DOC)
    def initiate_reassessment(self, days: int, who: tuple[str, Role] | None, service: str,
                              reason: ReassessmentReason, detail: str) -> None:
        self.prepare(days)
        actor = self.duty_actor(who)
        self.run(lambda c: c.initiate_reassessment(self.ctx(actor), target_service_org_ref=service, reason=reason,
                                                   detail_doc_ref=detail), self.coordination_refusal(actor))

    @rule(days=DAYS, who=WHO, views_of=PERSONS, method=st.sampled_from(list(ViewsMethod)), summary=DOC)
    def record_family_views(self, days: int, who: tuple[str, Role] | None, views_of: tuple[str, ...],
                            method: ViewsMethod, summary: str) -> None:
        self.prepare(days)
        actor, views_of = self.duty_actor(who), tuple(self.person(ref) for ref in views_of)
        self.run(lambda c: c.record_family_views(self.ctx(actor), views_of_refs=views_of, method=method,
                                                 summary_doc_ref=summary),
                 self.coordination_refusal(actor) or first((self.outside_family(views_of), "NO-R15 not the family")))

    @rule(days=DAYS, who=WHO, specialist=st.sampled_from(["person:nlsh-1", "person:nlsh-2", "person:bk-1"]),
          trust=ORG)
    def link_specialist_coordinator(self, days: int, who: tuple[str, Role] | None, specialist: str,
                                    trust: str) -> None:
        case = self.prepare(days)
        actor = self.duty_actor(who)
        self.run(lambda c: c.link_specialist_coordinator(self.ctx(actor), specialist_coordinator_ref=specialist,
                                                         health_trust_org_ref=trust),
                 self.coordination_refusal(actor) or first(
                     (specialist == case.coordinator_ref, "NO-R17 the barnekoordinator is no specialist"),
                     (specialist in case.specialist_coordinator_refs, "NO-R17 linked twice")))

    # ---- complaints ------------------------------------------------------------------------------------
    @rule(days=DAYS, complaint_id=IDS, decision_id=st.none() | existing_or(st.sampled_from(["d-1", "d-2", "d-3"])),
          received_by=st.sampled_from(["org:koordinerende-enhet", "person:x"]),
          ground=st.none() | st.sampled_from(list(ComplaintGround)))
    def receive_complaint(self, days: int, complaint_id: str, decision_id: str | Existing | None, received_by: str,
                          ground: ComplaintGround | None) -> None:
        case = self.prepare(days)
        named = None if decision_id is None else resolve(decision_id, case.decisions)
        self.run(lambda c: c.receive_complaint(self.staff(), complaint_id=complaint_id, decision_id=named,
                                               received_by_ref=received_by, settings=SETTINGS, ground=ground),
                 self.complaint_refusal(named, ground) or first(
                     (complaint_id in case.complaints, "NO-R9 already received")))

    def awaits_after_18_decision(self) -> bool:
        case = self._case
        return bool(self.case_ids) and case.birth_date is not None and case.status in {
            NorwayStatus.ACTIVE, NorwayStatus.ORDINARY_COORDINATOR_ASSESSMENT}

    @precondition(awaits_after_18_decision)
    @rule(around_deadline=st.integers(-3, 3), complaint_id=IDS, record_majority_first=st.booleans())
    def complain_of_no_decision_after_18(self, around_deadline: int, complaint_id: str,
                                         record_majority_first: bool) -> None:
        """NO-R9b: the municipality has not decided on an ordinary coordinator N days after the 18th birthday (the
        deadline is reached in the story's time; majority recorded or not, as a late clock may leave it)."""
        case = self._case
        assert case.birth_date is not None
        majority = eighteenth_birthday(case.birth_date)
        if record_majority_first and case.status is NorwayStatus.ACTIVE and self.now.date() < majority:
            self.tick((majority - self.now.date()).days)
            self.run(lambda c: c.record_majority(self.ctx(SYSTEM_ACTOR), settings=SETTINGS))
        self.tick(max(0, (majority + timedelta(days=AFTER_18_DAYS + around_deadline) - self.now.date()).days))
        ground = ComplaintGround.NO_ORDINARY_COORDINATOR_AFTER_18
        self.run(lambda c: c.receive_complaint(self.staff(), complaint_id=complaint_id, received_by_ref=UNIT,
                                               settings=SETTINGS, ground=ground),
                 self.complaint_refusal(None, ground) or first(
                     (complaint_id in self._case.complaints, "NO-R9 already received")))

    def complaint_refusal(self, named: str | None, ground: ComplaintGround | None) -> str | None:
        """Why a complaint on ``ground`` about ``named`` (None: the latest decision) must be refused (seed 002)."""
        case, today = self._case, self.now.date()
        latest = next(reversed(case.decisions), None)
        kind = case.decisions.get(named or latest or "", (None,))[0]
        if ground is ComplaintGround.NO_ORDINARY_COORDINATOR_AFTER_18 and (
                kind is not Decision.ORDINARY_COORDINATOR_AFTER_18_REFUSED):
            majority = None if case.birth_date is None else eighteenth_birthday(case.birth_date)
            awaiting = case.status is NorwayStatus.ORDINARY_COORDINATOR_ASSESSMENT or (
                case.status is NorwayStatus.ACTIVE and majority is not None and today >= majority)
            return first((not awaiting, "NO-R9b no after-18 decision awaited"),
                         (majority is None or today < majority + timedelta(days=AFTER_18_DAYS), "NO-R9b still time"),
                         ((named or latest) != latest, "NO-R9 not the decision that stands"))
        decided = case.decisions.get((latest if named is None else named) or "")
        return first((decided is None, "NO-R9 no such decision"),
                     (decided is not None and ground is None and decided[0] not in COMPLAINABLE,
                      "NO-R9 nothing to complain about but its failure"),
                     (decided is not None and ground is not None and decided[0] not in GROUND_DECISIONS[ground],
                      "NO-R9 not a decision of that ground"),
                     (ground is ComplaintGround.RIGHT_NOT_FULFILLED and (named or latest) != latest,
                      "NO-R9 the grant no longer stands"))

    def stage(self, complaint_id: str) -> ComplaintStage | None:
        current = self._case.complaints.get(complaint_id)
        return None if current is None else current[1]

    @rule(days=DAYS, complaint_id=existing_or(IDS), outcome=st.sampled_from(list(ReconsiderationOutcome)),
          reasons=DOC)
    def reconsider_complaint(self, days: int, complaint_id: str | Existing, outcome: ReconsiderationOutcome,
                             reasons: str) -> None:
        complaint_id = resolve(complaint_id, self.prepare(days).complaints)
        self.run(lambda c: c.reconsider_complaint(self.staff(), complaint_id=complaint_id, outcome=outcome,
                                                  reasons_doc_ref=reasons),
                 first((self.stage(complaint_id) is not ComplaintStage.UNDER_RECONSIDERATION,
                        "NO-R10 out of order")))

    @rule(days=DAYS, complaint_id=existing_or(IDS))
    def forward_complaint(self, days: int, complaint_id: str | Existing) -> None:
        complaint_id = resolve(complaint_id, self.prepare(days).complaints)
        self.run(lambda c: c.forward_complaint(self.staff(), complaint_id=complaint_id),
                 first((self.stage(complaint_id) is not ComplaintStage.LODGED, "NO-R11 out of order")))

    @rule(days=DAYS, complaint_id=existing_or(IDS), outcome=st.sampled_from(list(StatsforvalterenOutcome)), doc=DOC)
    def record_statsforvalteren_decision(self, days: int, complaint_id: str | Existing,
                                         outcome: StatsforvalterenOutcome, doc: str) -> None:
        complaint_id = resolve(complaint_id, self.prepare(days).complaints)
        self.run(lambda c: c.record_statsforvalteren_decision(
            self.ctx(Actor("person:sf", Role.SUPERVISOR)), complaint_id=complaint_id, outcome=outcome, doc_ref=doc),
            first((self.stage(complaint_id) is not ComplaintStage.FORWARDED, "NO-R12 out of order")))

    # ---- majority and close -----------------------------------------------------------------------------
    @rule(days=DAYS)
    def record_majority(self, days: int) -> None:
        case = self.prepare(days)
        child = case.birth_date is None or self.now.date() < eighteenth_birthday(case.birth_date)
        self.run(lambda c: c.record_majority(self.ctx(SYSTEM_ACTOR), settings=SETTINGS),
                 first((self.closed(), "case closed"), (child, "NO-R1 still a child"),
                       (case.status in {NorwayStatus.ORDINARY_COORDINATOR_ASSESSMENT, NorwayStatus.ADULT_COORDINATOR},
                        "NO-SM majority already recorded")))

    @rule(days=DAYS)
    def record_due_deadlines(self, days: int) -> None:
        case = self.prepare(days)
        self.run(lambda c: c.record_due_deadlines(self.ctx(SYSTEM_ACTOR), settings=CLOCK_SETTINGS),
                 first((not clock.due(case, self.now.date(), CLOCK_SETTINGS), "CLOCK-1 nothing due")))

    @rule(days=DAYS, reason=CODE)
    def close_case(self, days: int, reason: str) -> None:
        case = self.prepare(days)
        self.run(lambda c: c.close_case(self.staff(), closure_reason=reason),
                 first((self.closed(), "case closed"),
                       (case.status is NorwayStatus.ACTIVE, "NO-SM the barnekoordinator is active")))

    # ---- invariants over the stored facts --------------------------------------------------------------
    @invariant()
    def the_case_in_memory_is_the_stored_case(self) -> None:
        if self.case_ids:
            assert not self._case.pending_events
            assert observable(self.app.repository.get(self._case.id)) == observable(self._case)

    @invariant()
    def stored_facts_obey_the_right(self) -> None:
        for case_id in self.case_ids:
            self.check_case_facts(case_id, self.events(case_id))

    def check_case_facts(self, case_id: UUID, events: Sequence[Any]) -> None:
        assert type(events[0]).__name__ == "BarnekoordinatorRequested"
        consent: str | None = None
        coordinator: str | None = None
        last_decision: Decision | None = None
        closed = ended = False
        decisions: dict[str, Decision] = {}
        changed_by_complaint: set[str] = set()
        complained_about: dict[str, str] = {}
        stages: dict[str, tuple[int, str]] = {}
        specialists: list[str] = []
        for event in events:
            name = type(event).__name__
            if closed:
                assert name in NO_CLOSED_FACTS or (
                    ended and name == "BarnekoordinatorDecisionIssued"
                    and event.decision == Decision.ORDINARY_COORDINATOR_AFTER_18_GRANTED), f"{name} on an ended case"
            if name == "BarnekoordinatorDecisionIssued":
                assert event.appeal_body == "Statsforvalteren", "NO-R3: the appeal body is Statsforvalteren"
                assert event.appeal_deadline == event.delivered_at + timedelta(weeks=4), "pbrl § 7-5: four weeks"
                assert event.justification_doc_ref, "NO-R3: a decision without reasons"
                standing = next(reversed(decisions), None)
                if standing is not None and decisions[standing] in STANDING_UNTIL_A_COMPLAINT:
                    assert standing in changed_by_complaint, \
                        f"NO-SM: decision {standing} was replaced though no complaint about it changed it"
                last_decision = decisions[event.decision_id] = Decision(event.decision)
                if last_decision in {Decision.CHANGED, Decision.TERMINATED,
                                     Decision.ORDINARY_COORDINATOR_AFTER_18_REFUSED}:
                    coordinator = None
                closed = ended = last_decision is Decision.ORDINARY_COORDINATOR_AFTER_18_REFUSED
            elif name == "BarnekoordinatorConsentRecorded":
                consent = event.consent_id
            elif name == "ConsentWithdrawn":
                assert consent == event.consent_id, "NO-G0: withdrew a consent that was not active"
                consent = None
            elif name == "BarnekoordinatorAppointed":
                grants = {Decision.GRANTED, Decision.CHANGED, Decision.ORDINARY_COORDINATOR_AFTER_18_GRANTED}
                assert last_decision in grants, "NO: appointed without a grant"
                assert consent is not None, "NO-R4: appointed without consent"
                coordinator = event.coordinator_ref
            elif name in DUTY_FACTS:
                assert consent is not None, "NO-G0: a duty performed without consent"
                assert event.ctx.actor.person_ref == coordinator, "NO-R6: not the family's coordinator"
                family = (*events[0].parent_refs, events[0].child_ref)
                for refs in (getattr(event, "given_to_refs", ()), getattr(event, "views_of_refs", ())):
                    assert all(ref in family for ref in refs), "NO-R15: not the family"
                assert getattr(event, "purpose", None) not in {FollowUpPurpose.SERVICE_CONTENT,
                                                               FollowUpPurpose.SERVICE_METHOD}, "NO-R16: forbidden"
                if name == "SpecialistCoordinatorLinked":
                    assert event.specialist_coordinator_ref not in (coordinator, *specialists), "NO-R17"
                    specialists.append(event.specialist_coordinator_ref)
            elif name in {"CoordinationInstructionIssued", "IndividualPlanAdopted"}:
                assert consent is not None, "NO-G0: coordination without consent"
                assert event.ctx.actor.person_ref == coordinator, "NO-R6: not the family's coordinator"
                if name == "CoordinationInstructionIssued":
                    assert event.instruction_type not in {InstructionType.SERVICE_CONTENT,
                                                          InstructionType.SERVICE_METHOD}, "NO-R6: forbidden"
            elif name in STAGE_ORDER:
                self.check_complaint_step(event, name, stages, decisions, events[0].birth_date)
                if name == "ComplaintReceived":
                    complained_about[event.complaint_id] = event.decision_id
                elif getattr(event, "outcome", None) in {ReconsiderationOutcome.UPHELD,
                                                         StatsforvalterenOutcome.DECISION_REVERSED,
                                       StatsforvalterenOutcome.RETURNED_FOR_NEW_PROCESSING}:
                    changed_by_complaint.add(complained_about[event.complaint_id])
            elif name in {"CaseClosed", "ChildReachedMajority"}:
                closed = name == "CaseClosed" or coordinator is None  # only an active coordinator carries on
                ended = closed and name == "ChildReachedMajority"
                if name == "ChildReachedMajority":
                    assert event.ctx.occurred_at.date() >= eighteenth_birthday(events[0].birth_date)
        case: NorwayCase = self.app.repository.get(case_id)
        assert case.consent_id == consent and case.coordinator_ref == coordinator
        assert case.is_open == (not closed), "ended facts and the case's status disagree"
        assert set(case.complaints) == set(stages)

    @staticmethod
    def check_complaint_step(event: Any, name: str, stages: dict[str, tuple[int, str]],
                             decisions: dict[str, Decision], birth_date: date | None) -> None:
        """Complaint stages only move forward: received, reconsidered, (not upheld) forwarded, decided."""
        rank = STAGE_ORDER[name]
        previous = stages.get(event.complaint_id)
        if name == "ComplaintReceived":
            assert previous is None, "NO-R9: complaint received twice"
            kind, latest = decisions.get(event.decision_id), next(reversed(decisions), None)
            if event.ground is ComplaintGround.RIGHT_NOT_FULFILLED:
                assert event.decision_id == latest and kind in GROUND_DECISIONS[event.ground], "NO-R9: no grant stood"
            elif (event.ground is ComplaintGround.NO_ORDINARY_COORDINATOR_AFTER_18
                  and kind is not Decision.ORDINARY_COORDINATOR_AFTER_18_REFUSED):
                assert birth_date is not None and event.ctx.occurred_at.date() >= eighteenth_birthday(
                    birth_date) + timedelta(days=AFTER_18_DAYS), "NO-R9b: complained before the deadline passed"
                assert event.decision_id == latest, "NO-R9: recorded against another than the standing decision"
            else:
                assert kind in COMPLAINABLE, "NO-R9: complaint about no complainable decision"
                assert event.ground in {None, GROUND_OF_DECISION[kind]}, "NO-R9: the ground is not the decision's"
        else:
            assert previous is not None and previous[0] == rank - 1, f"{name} out of order"
        if name == "ComplaintForwardedToStatsforvalteren":
            assert previous is not None and previous[1] == ReconsiderationOutcome.NOT_UPHELD, "NO-R11: forwarded upheld"
        outcome = getattr(event, "outcome", "")
        stages[event.complaint_id] = (rank, str(outcome))


TestIcelandCaseStateMachine = IcelandCaseMachine.TestCase
TestIcelandCaseStateMachine.settings = MACHINE_SETTINGS
TestNorwayCaseStateMachine = NorwayCaseMachine.TestCase
TestNorwayCaseStateMachine.settings = MACHINE_SETTINGS


def test_a_parent_listed_as_a_providers_representative_is_still_not_removed() -> None:
    """The sequence hypothesis found (IS-R16): the parent, on the team as the provider's representative,
    could be removed because the guard looked at the member type instead of who the person is."""
    machine = IcelandCaseMachine()
    machine.register_contact(age_days=5844, two_parents=False, social=False,
                             warm_up=[(4, 0), (5, 0), (0, 0), (9, 0)])
    machine.remove_team_member(days=0, person=Existing(0), who=None)
    machine.stored_facts_obey_the_act()
    assert PARENT_A in machine._case.team_members


def test_a_complaint_about_an_earlier_decision_does_not_undo_a_later_termination() -> None:
    """The sequence hypothesis found (NO-SM): changed, terminated, then a complaint upheld about the earlier
    change let the municipality grant anew, though no complaint changed the termination that stood."""
    machine = NorwayCaseMachine()
    machine.request_barnekoordinator(age_days=5497, expecting=False, warm_up=[(7, 0), (0, 0), (4, 0), (0, 0)])
    machine.follow_the_lifecycle(days=0, branches=[(0, 0), (1, 0), (8, 0), (1, 0), (0, 0)])
    machine.stored_facts_obey_the_right()
    assert machine._case.status is NorwayStatus.TERMINATED and not machine._case.new_decision_allowed
