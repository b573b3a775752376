"""Norway after the decision: what the barnekoordinator does for the family while the coordination runs (seed
002, "a children's co-ordinator's duties entail that they must ensure ..."), as facts a supervisor can read.

* information and holistic guidance given to the family about health and care services, other welfare services
  and patient and user organisations (``CoordinatorGuidanceGiven``);
* a contact or referral to such a service or organisation communicated (``ReferralCommunicated``);
* a service followed up on the family's behalf: has it assessed enough, how is a case progressing, does it need
  more documentation (``ServiceFollowedUp``); never which services it gives or how (NO-R16, as NO-R6);
* a reassessment of the child's needs driven while the coordination is active (``ReassessmentInitiated``);
* the child's and the family's views heard while the coordinator works (``FamilyViewsRecorded``);
* the specialist health service's own coordinator linked: a family may have both at once (NO-R17).

Every one of them is the appointed coordinator's, within the family's consent (NO-G0) and while the coordination
runs (``NorwayCase._require_coordination``). The class is the base of :class:`domain.case_norway.NorwayCase`, so
its facts are ``NorwayCase.<Fact>`` in the store, like every other Norwegian fact; it is a module of its own only
to keep the case's module short.
"""

from __future__ import annotations

from eventsourcing.domain import event

from domain import barnekoordinator as bk
from domain.case import Case
from domain.errors import RuleViolation
from domain.values import (
    Context,
    FollowUpPurpose,
    GuidanceTopic,
    ReassessmentReason,
    ReferralKind,
    ViewsMethod,
    check_ref,
    check_refs,
)


class NorwayCoordination(Case):
    """The coordinator's duties of seed 002 (see the module docstring)."""

    coordinator_ref: str | None = None
    specialist_coordinator_refs: tuple[str, ...] = ()
    """The specialist health service's coordinators linked to the case (a class default: a snapshot taken before
    the link existed has none)."""

    def _require_coordination(self, ctx: Context, command: str) -> None:
        """Consent (NO-G0), an active coordination and the appointed coordinator; the case says how."""
        raise NotImplementedError

    @property
    def _family(self) -> tuple[str, ...]:
        return (*self.parent_refs, self.child_ref)

    def record_guidance_given(self, ctx: Context, *, topics: tuple[GuidanceTopic, ...],
                              given_to_refs: tuple[str, ...], summary_doc_ref: str) -> None:
        """The family and the child received the necessary information and holistic guidance (seed 002)."""
        self._require_coordination(ctx, "RecordGuidanceGiven")
        check_refs("given_to_refs", given_to_refs, "person")
        bk.require_family("given_to_refs", tuple(given_to_refs), self._family)
        check_ref("summary_doc_ref", summary_doc_ref, "doc")
        topics = tuple(dict.fromkeys(GuidanceTopic(t) for t in topics))
        if not topics:
            raise RuleViolation("NO-R15", "Guidance names at least one topic.",
                                remedy="Say what the guidance was about.")
        self._guidance_given(ctx, topics, tuple(given_to_refs), summary_doc_ref)

    @event("CoordinatorGuidanceGiven")
    def _guidance_given(self, ctx: Context, topics: tuple[GuidanceTopic, ...], given_to_refs: tuple[str, ...],
                        summary_doc_ref: str) -> None:
        pass

    def communicate_referral(self, ctx: Context, *, kind: ReferralKind, topic: GuidanceTopic, target_org_ref: str,
                             summary_doc_ref: str) -> None:
        """A contact or referral to a service or organisation is communicated (seed 002)."""
        self._require_coordination(ctx, "CommunicateReferral")
        check_ref("target_org_ref", target_org_ref, "org")
        check_ref("summary_doc_ref", summary_doc_ref, "doc")
        self._referral_communicated(ctx, ReferralKind(kind), GuidanceTopic(topic), target_org_ref, summary_doc_ref)

    @event("ReferralCommunicated")
    def _referral_communicated(self, ctx: Context, kind: ReferralKind, topic: GuidanceTopic, target_org_ref: str,
                               summary_doc_ref: str) -> None:
        pass

    def follow_up_with_service(self, ctx: Context, *, target_service_org_ref: str, purpose: FollowUpPurpose,
                               detail_doc_ref: str) -> None:
        """The coordinator contacts a service on the family's behalf, so the parents need not ask for everything
        themselves (seed 002); never about which services it gives or how (NO-R16)."""
        self._require_coordination(ctx, "FollowUpWithService")
        purpose = FollowUpPurpose(purpose)
        bk.require_permitted_follow_up(purpose)
        check_ref("target_service_org_ref", target_service_org_ref, "org")
        check_ref("detail_doc_ref", detail_doc_ref, "doc")
        self._service_followed_up(ctx, target_service_org_ref, purpose, detail_doc_ref)

    @event("ServiceFollowedUp")
    def _service_followed_up(self, ctx: Context, target_service_org_ref: str, purpose: FollowUpPurpose,
                             detail_doc_ref: str) -> None:
        pass

    def initiate_reassessment(self, ctx: Context, *, target_service_org_ref: str, reason: ReassessmentReason,
                              detail_doc_ref: str) -> None:
        """The coordinator monitors changes in needs and drives the necessary reassessments (seed 002)."""
        self._require_coordination(ctx, "InitiateReassessment")
        check_ref("target_service_org_ref", target_service_org_ref, "org")
        check_ref("detail_doc_ref", detail_doc_ref, "doc")
        self._reassessment_initiated(ctx, target_service_org_ref, ReassessmentReason(reason), detail_doc_ref)

    @event("ReassessmentInitiated")
    def _reassessment_initiated(self, ctx: Context, target_service_org_ref: str, reason: ReassessmentReason,
                                detail_doc_ref: str) -> None:
        pass

    def record_family_views(self, ctx: Context, *, views_of_refs: tuple[str, ...], method: ViewsMethod,
                            summary_doc_ref: str) -> None:
        """The child, the young person and the family express their needs, wishes and views while working with
        their coordinator (seed 002, best interests of the child); the views themselves are a document."""
        self._require_coordination(ctx, "RecordFamilyViews")
        check_refs("views_of_refs", views_of_refs, "person")
        bk.require_family("views_of_refs", tuple(views_of_refs), self._family)
        check_ref("summary_doc_ref", summary_doc_ref, "doc")
        self._family_views_recorded(ctx, tuple(views_of_refs), ViewsMethod(method), summary_doc_ref)

    @event("FamilyViewsRecorded")
    def _family_views_recorded(self, ctx: Context, views_of_refs: tuple[str, ...], method: ViewsMethod,
                               summary_doc_ref: str) -> None:
        pass

    def link_specialist_coordinator(self, ctx: Context, *, specialist_coordinator_ref: str,
                                    health_trust_org_ref: str) -> None:
        """The specialist health service's coordinator (e.g. for a hospital admission) works beside the
        barnekoordinator; the link says whom to coordinate with (seed 002)."""
        self._require_coordination(ctx, "LinkSpecialistCoordinator")
        check_ref("specialist_coordinator_ref", specialist_coordinator_ref, "person")
        check_ref("health_trust_org_ref", health_trust_org_ref, "org")
        bk.require_separate_specialist_coordinator(specialist_coordinator_ref, self.coordinator_ref,
                                                   self.specialist_coordinator_refs)
        self._specialist_coordinator_linked(ctx, specialist_coordinator_ref, health_trust_org_ref)

    @event("SpecialistCoordinatorLinked")
    def _specialist_coordinator_linked(self, ctx: Context, specialist_coordinator_ref: str,
                                       health_trust_org_ref: str) -> None:
        self.specialist_coordinator_refs = (*self.specialist_coordinator_refs, specialist_coordinator_ref)
