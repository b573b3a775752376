"""Notice texts in Icelandic (``is``), Norwegian bokmål (``nb``) and English (``en``).

A template is rendered from plain parameters (strings; dates as ISO ``YYYY-MM-DD``) that the projection
stores beside the rendered text in the outbox, so the delivery worker can render the same notice again in
a recipient's preferred language (the recipient directory may ask for ``en``).

What a notice never contains (domain.md §2.1, §8.3.1): names, narrative or anything from a document. It
carries pseudonymous references (``doc:…``, ``person:…``) that the recipient opens in the case system,
where access is checked and logged. An e-mail is not a safe place for a child's case.

The two mandatory notices (domain.md §4) carry exactly what their source requires:

* ``team_concluded_without_plan`` (seed 000, IS-INV-6): the conclusion, the justification (document
  reference) and how to complain to GEV (gev.is: only the user or someone acting for them, through
  "Mínar síður", naming who it concerns and describing the events; no complaint deadline is known (T7),
  so none is stated as fact);
* ``barnekoordinator_decision`` (seed 002, pbrl § 7-5): the written decision, its justification (document
  reference), the legal basis, the right to complain to Statsforvalteren (first through the municipality,
  which reconsiders), and the four-week deadline with its date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

from projections.notifications.clock_texts import CLOCK_TEMPLATES

LANGUAGES: Final = ("is", "nb", "en")
DEFAULT_LANGUAGE: Final[dict[str, str]] = {"IS": "is", "NO": "nb"}
"""The language of a notice by the case's jurisdiction; English when the jurisdiction is unknown."""

# ---- kinds -------------------------------------------------------------------------------------------------
TEAM_CONCLUDED_WITHOUT_PLAN: Final = "team_concluded_without_plan"
BARNEKOORDINATOR_DECISION: Final = "barnekoordinator_decision"
CONTACT_FAMILY_TASK: Final = "contact_family_task"
CASE_MANAGER_NEEDED: Final = "case_manager_needed"
CASE_MANAGER_APPOINTED: Final = "case_manager_appointed"
SUPPORT_TEAM_ESTABLISHED: Final = "support_team_established"
TEAM_MEMBER_INVITED: Final = "team_member_invited"
TEAM_MEETING_SCHEDULED: Final = "team_meeting_scheduled"
SUPPORT_PLAN_ADOPTED: Final = "support_plan_adopted"
COORDINATOR_CHANGED: Final = "coordinator_changed"
PROCESSING_STOPPED: Final = "processing_stopped"
DOMICILE_CHANGED: Final = "domicile_changed"
COMPLAINT_RECEIVED: Final = "complaint_received"
COMPLAINT_STATUS: Final = "complaint_status"
LEVEL_WITHOUT_CASE_MANAGER: Final = "level_without_case_manager"
"""Issue 12 [I]: the child's level reached 2 or 3 and the case has no case manager (IS-INV-2, seed 000)."""
# deadline warnings (the scheduler moves them into the outbox when their day comes)
CONTACT_FAMILY_DUE: Final = "contact_family_due"
PLAN_REVIEW_DUE: Final = "plan_review_due"
PLAN_PERIOD_ENDS: Final = "plan_period_ends"
ADULT_TRANSITION_PLAN_DUE: Final = "adult_transition_plan_due"
INDIVIDUAL_PLAN_REVISION_DUE: Final = "individual_plan_revision_due"
# the law's clock's facts (projections.notifications.clock)
CLOCK_KINDS: Final = tuple(CLOCK_TEMPLATES)

MANDATORY_KINDS: Final = frozenset({TEAM_CONCLUDED_WITHOUT_PLAN, BARNEKOORDINATOR_DECISION})
DATE_PARAMS: Final = frozenset({"appeal_deadline", "due_on", "scheduled_for", "effective_on", "decided_on"})
"""Parameters holding an ISO date, written out in the notice's language."""

_MONTHS: Final[dict[str, tuple[str, ...]]] = {
    "is": ("janúar", "febrúar", "mars", "apríl", "maí", "júní", "júlí", "ágúst", "september", "október",
           "nóvember", "desember"),
    "nb": ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september", "oktober",
           "november", "desember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}


def format_date(value: date, language: str) -> str:
    """``19. febrúar 2024`` / ``19. februar 2024`` / ``19 February 2024`` (with the ISO date in brackets)."""
    month = _MONTHS[language][value.month - 1]
    written = f"{value.day} {month} {value.year}" if language == "en" else f"{value.day}. {month} {value.year}"
    return f"{written} ({value.isoformat()})"


# ---- words that vary inside a template ---------------------------------------------------------------------
_WORDS: Final[dict[str, dict[str, dict[str, str]]]] = {
    "decision": {
        "is": {},
        "nb": {"granted": "innvilget", "refused": "avslått", "changed": "endret (ny barnekoordinator)",
               "terminated": "avsluttet", "ordinary_coordinator_after_18_granted":
               "koordinator etter fylte 18 år innvilget", "ordinary_coordinator_after_18_refused":
               "koordinator etter fylte 18 år avslått"},
        "en": {"granted": "granted", "refused": "refused", "changed": "changed (a new barnekoordinator)",
               "terminated": "terminated", "ordinary_coordinator_after_18_granted":
               "ordinary coordinator after 18 granted", "ordinary_coordinator_after_18_refused":
               "ordinary coordinator after 18 refused"},
    },
    "stage": {
        "is": {"received": "móttekin", "reconsidered": "endurmetin", "forwarded": "send áfram",
               "decided": "úrskurðuð"},
        "nb": {"received": "mottatt av kommunen", "reconsidered": "vurdert på nytt av kommunen",
               "forwarded": "sendt videre til Statsforvalteren", "decided": "avgjort av Statsforvalteren"},
        "en": {"received": "received by the municipality", "reconsidered": "reconsidered by the municipality",
               "forwarded": "forwarded to Statsforvalteren", "decided": "decided by Statsforvalteren"},
    },
    "warning": {
        "is": {"17y0m": "barnið er orðið 17 ára", "17y6m": "barnið er orðið 17 og hálfs árs"},
        "nb": {"17y0m": "barnet har fylt 17 år", "17y6m": "barnet er 17 og et halvt år"},
        "en": {"17y0m": "the child has turned 17", "17y6m": "the child is 17 and a half"},
    },
}

# ---- the texts ---------------------------------------------------------------------------------------------
_GEV_IS = (
    "Foreldrar geta kvartað til Gæða- og eftirlitsstofnunar velferðarmála (GEV) yfir þeirri ákvörðun "
    "stuðningsteymisins að ljúka vinnu sinni án stuðningsáætlunar. Kvörtun er send í gegnum Mínar síður á "
    "gev.is; þar skal tilgreina hvern kvörtunin varðar og lýsa atvikum. Aðeins notandi þjónustunnar, eða sá "
    "sem kemur fram fyrir hans hönd með umboði eða samkvæmt lögum, getur kvartað. Okkur er ekki kunnugt um "
    "lögbundinn frest til að kvarta; upplýsingar eru á gev.is."
)
_GEV_EN = (
    "Parents may complain about the support team's decision to end its work without a support plan to the "
    "Quality and Supervisory Authority of Welfare (GEV, Gæða- og eftirlitsstofnun velferðarmála). Complaints "
    "are filed through \"Mínar síður\" at gev.is, saying who the complaint is about and describing what "
    "happened. Only the service user, or someone acting for them with a mandate or by law, may complain. We "
    "know of no statutory deadline for complaining; see gev.is."
)
_GEV_NB = (
    "Foreldrene kan klage på støtteteamets beslutning om å avslutte arbeidet uten støtteplan til Gæða- og "
    "eftirlitsstofnun velferðarmála (GEV), tilsynsmyndigheten for velferdstjenester på Island. Klagen sendes "
    "via \"Mínar síður\" på gev.is, med hvem klagen gjelder og hva som skjedde. Bare tjenestemottakeren, "
    "eller den som handler på vegne av vedkommende med fullmakt eller etter lov, kan klage. Vi kjenner ikke "
    "til noen lovbestemt klagefrist; se gev.is."
)
_STATSFORVALTEREN_NB = (
    "Dere kan klage på avgjørelsen til Statsforvalteren etter pasient- og brukerrettighetsloven kapittel 7. "
    "Klagen sendes først til kommunen, som vurderer avgjørelsen på nytt og sender klagen videre til "
    "Statsforvalteren hvis avgjørelsen ikke blir endret. Klagefristen er fire uker fra dere fikk eller burde "
    "ha fått kjennskap til avgjørelsen (pbrl. § 7-5), det vil si senest {appeal_deadline}. En klage som kommer "
    "for sent, kan likevel bli behandlet."
)
_STATSFORVALTEREN_EN = (
    "You may complain about the decision to Statsforvalteren (the County Governor) under chapter 7 of the "
    "Patient and User Rights Act. The complaint is sent first to the municipality, which reconsiders the "
    "decision and forwards the complaint to Statsforvalteren if the decision is not changed. The deadline is "
    "four weeks from when you received, or should have received, knowledge of the decision (pbrl § 7-5), "
    "that is no later than {appeal_deadline}. A late complaint may still be heard."
)
_STATSFORVALTEREN_IS = (
    "Hægt er að kæra ákvörðunina til Statsforvalteren (umdæmisstjóra ríkisins í Noregi) samkvæmt 7. kafla "
    "norsku laganna um réttindi sjúklinga og notenda. Kæran er fyrst send sveitarfélaginu, sem endurmetur "
    "ákvörðunina og sendir kæruna áfram til Statsforvalteren ef ákvörðuninni er ekki breytt. Kærufrestur er "
    "fjórar vikur frá því að þið fenguð eða hefðuð átt að fá vitneskju um ákvörðunina (pbrl. § 7-5), þ.e. í "
    "síðasta lagi {appeal_deadline}. Kæra sem berst of seint getur samt verið tekin til meðferðar."
)
_FOOTER = {
    "is": "\n\nSkjöl sem vísað er til eru aðgengileg í málakerfinu. Vísun málsins: {case_id}.",
    "nb": "\n\nDokumentene det vises til, finner du i saksbehandlingssystemet. Saksreferanse: {case_id}.",
    "en": "\n\nThe documents referred to are available in the case system. Case reference: {case_id}.",
}

TEMPLATES: Final[dict[str, dict[str, tuple[str, str]]]] = {
    TEAM_CONCLUDED_WITHOUT_PLAN: {
        "is": ("Stuðningsteymi hefur lokið störfum án stuðningsáætlunar",
               "Stuðningsteymi barnsins hefur lokið vinnu sinni án stuðningsáætlunar.\n\n"
               "Rökstuðningur: skjal {justification_doc_ref}.\n\n" + _GEV_IS),
        "nb": ("Støtteteamet har avsluttet arbeidet uten støtteplan",
               "Barnets støtteteam har avsluttet arbeidet sitt uten støtteplan.\n\n"
               "Begrunnelse: dokument {justification_doc_ref}.\n\n" + _GEV_NB),
        "en": ("The support team has concluded without a support plan",
               "The child's support team has ended its work without a support plan.\n\n"
               "Justification: document {justification_doc_ref}.\n\n" + _GEV_EN),
    },
    BARNEKOORDINATOR_DECISION: {
        "is": ("Ákvörðun um barnekoordinator",
               "Sveitarfélagið hefur tekið skriflega ákvörðun um barnekoordinator: {decision} "
               "(ákvörðun {decision_id}).\n\nRökstuðningur: skjal {justification_doc_ref}.\n"
               "Lagagrundvöllur: {legal_basis}.\n\n" + _STATSFORVALTEREN_IS),
        "nb": ("Avgjørelse om barnekoordinator: {decision}",
               "Kommunen har truffet en skriftlig avgjørelse om barnekoordinator: {decision} "
               "(avgjørelse {decision_id}).\n\nBegrunnelse: dokument {justification_doc_ref}.\n"
               "Rettsgrunnlag: {legal_basis}.\n\n" + _STATSFORVALTEREN_NB),
        "en": ("Decision on a barnekoordinator: {decision}",
               "The municipality has made a written decision on a barnekoordinator (child coordinator): "
               "{decision} (decision {decision_id}).\n\nJustification: document {justification_doc_ref}.\n"
               "Legal basis: {legal_basis}.\n\n" + _STATSFORVALTEREN_EN),
    },
    CONTACT_FAMILY_TASK: {
        "is": ("Verkefni: hafa samband við fjölskyldu",
               "Upplýsingar hafa borist frá {source_org_ref} (skjal {summary_doc_ref}). Hafðu samband við "
               "foreldra og/eða barn eins fljótt og auðið er og bjóddu samþættingu þjónustu. Þú mátt ekki hafa "
               "samband við aðra en foreldra og/eða barn."),
        "nb": ("Oppgave: kontakt familien",
               "Opplysninger er mottatt fra {source_org_ref} (dokument {summary_doc_ref}). Kontakt foreldrene "
               "og/eller barnet så snart som mulig og tilby samordning av tjenester. Du kan ikke kontakte andre "
               "enn foreldrene og/eller barnet."),
        "en": ("Task: contact the family",
               "Information has arrived from {source_org_ref} (document {summary_doc_ref}). Contact the parents "
               "and/or the child as soon as possible and offer integration of services. You may contact no one "
               "but the parents and/or the child."),
    },
    CASE_MANAGER_NEEDED: {
        "is": ("Beiðni um skipun málstjóra",
               "Tengiliður {coordinator_ref} hefur tilkynnt að barn með lögheimili í sveitarfélaginu þurfi "
               "málstjóra (ástæða: {rationale_code}). Vinsamlegast skipið málstjóra."),
        "nb": ("Forespørsel om å oppnevne saksansvarlig (málstjóri)",
               "Koordinator {coordinator_ref} melder at et barn med bosted i kommunen trenger en saksansvarlig "
               "(grunn: {rationale_code}). Vennligst oppnevn en."),
        "en": ("Request to appoint a case manager",
               "Coordinator {coordinator_ref} reports that a child domiciled in the municipality needs a case "
               "manager (reason: {rationale_code}). Please appoint one."),
    },
    CASE_MANAGER_APPOINTED: {
        "is": ("Málstjóri hefur verið skipaður",
               "Málstjóri barnsins er {case_manager_ref} ({org_unit_ref}). Samskiptaupplýsingar eru í "
               "málakerfinu."),
        "nb": ("Saksansvarlig er oppnevnt",
               "Barnets saksansvarlige er {case_manager_ref} ({org_unit_ref}). Kontaktopplysninger finnes i "
               "saksbehandlingssystemet."),
        "en": ("A case manager has been appointed",
               "The child's case manager is {case_manager_ref} ({org_unit_ref}). Contact details are in the case "
               "system."),
    },
    SUPPORT_TEAM_ESTABLISHED: {
        "is": ("Stuðningsteymi hefur verið stofnað",
               "Stuðningsteymi {team_id} hefur verið stofnað fyrir barnið. Í því eru: {members}."),
        "nb": ("Støtteteam er opprettet",
               "Støtteteam {team_id} er opprettet for barnet. Medlemmer: {members}."),
        "en": ("A support team has been established",
               "Support team {team_id} has been established for the child. Members: {members}."),
    },
    TEAM_MEMBER_INVITED: {
        "is": ("Boð um þátttöku í stuðningsteymi",
               "Þér er boðið að taka þátt í stuðningsteymi barns fyrir hönd {org_ref}."),
        "nb": ("Invitasjon til støtteteam",
               "Du er invitert til å delta i et barns støtteteam på vegne av {org_ref}."),
        "en": ("Invitation to a support team",
               "You are invited to take part in a child's support team on behalf of {org_ref}."),
    },
    TEAM_MEETING_SCHEDULED: {
        "is": ("Fundur stuðningsteymis {scheduled_for}",
               "Boðað er til fundar í stuðningsteymi barnsins ({meeting_id}) {scheduled_for}. Dagskrá er í "
               "málakerfinu."),
        "nb": ("Møte i støtteteamet {scheduled_for}",
               "Det er kalt inn til møte i barnets støtteteam ({meeting_id}) {scheduled_for}. Dagsorden finnes i "
               "saksbehandlingssystemet."),
        "en": ("Support team meeting on {scheduled_for}",
               "A meeting of the child's support team ({meeting_id}) is called for {scheduled_for}. The agenda is "
               "in the case system."),
    },
    SUPPORT_PLAN_ADOPTED: {
        "is": ("Stuðningsáætlun, útgáfa {version}",
               "Stuðningsáætlun {plan_id}, útgáfa {version}, hefur verið samþykkt. Hún er aðgengileg í "
               "málakerfinu."),
        "nb": ("Støtteplan, versjon {version}",
               "Støtteplan {plan_id}, versjon {version}, er vedtatt. Den finnes i saksbehandlingssystemet."),
        "en": ("Support plan, version {version}",
               "Support plan {plan_id}, version {version}, has been adopted. It is available in the case system."),
    },
    COORDINATOR_CHANGED: {
        "is": ("Nýr tengiliður",
               "Tengiliður barnsins er nú {coordinator_ref} ({coordinator_org_ref}) í stað {from_coordinator_ref}."),
        "nb": ("Ny koordinator (tengiliður)",
               "Barnets koordinator er nå {coordinator_ref} ({coordinator_org_ref}) i stedet for "
               "{from_coordinator_ref}."),
        "en": ("New coordinator of services",
               "The child's coordinator is now {coordinator_ref} ({coordinator_org_ref}), replacing "
               "{from_coordinator_ref}."),
    },
    PROCESSING_STOPPED: {
        "is": ("Beiðni um samþættingu afturkölluð: vinnslu hætt",
               "Beiðni um samþættingu þjónustu hefur verið afturkölluð. Hættið allri vinnslu og miðlun "
               "upplýsinga um barnið í þágu samþættingar."),
        "nb": ("Anmodning om samordning trukket tilbake: behandling stanset",
               "Anmodningen om samordning av tjenester er trukket tilbake. Stans all behandling og deling av "
               "opplysninger om barnet for samordningsformål."),
        "en": ("Request for integration withdrawn: processing stopped",
               "The request for integration of services has been withdrawn. Stop all processing and sharing of "
               "information about the child for integration."),
    },
    DOMICILE_CHANGED: {
        "is": ("Breytt lögheimili: skipa þarf málstjóra",
               "Lögheimili barnsins hefur færst frá {from_municipality_ref} til {to_municipality_ref}. Nýja "
               "sveitarfélagið þarf að skipa málstjóra."),
        "nb": ("Endret bosted: ny saksansvarlig må oppnevnes",
               "Barnets bosted er flyttet fra {from_municipality_ref} til {to_municipality_ref}. Den nye kommunen "
               "må oppnevne saksansvarlig."),
        "en": ("Change of domicile: a case manager must be reappointed",
               "The child's domicile moved from {from_municipality_ref} to {to_municipality_ref}. The new "
               "municipality must appoint a case manager."),
    },
    COMPLAINT_RECEIVED: {
        "is": ("Kæra {complaint_id} móttekin",
               "Kæra {complaint_id} vegna ákvörðunar {decision_id} er móttekin. Sveitarfélagið endurmetur "
               "ákvörðunina fyrst og sendir kæruna áfram til Statsforvalteren ef henni er ekki breytt."),
        "nb": ("Klage {complaint_id} er mottatt",
               "Klage {complaint_id} på avgjørelse {decision_id} er mottatt. Kommunen vurderer avgjørelsen på nytt "
               "først, og sender klagen videre til Statsforvalteren hvis avgjørelsen ikke endres."),
        "en": ("Complaint {complaint_id} received",
               "Complaint {complaint_id} about decision {decision_id} has been received. The municipality first "
               "reconsiders the decision and forwards the complaint to Statsforvalteren if it is not changed."),
    },
    COMPLAINT_STATUS: {
        "is": ("Staða kæru {complaint_id}: {stage}",
               "Kæra {complaint_id} hefur verið {stage}. Nánari upplýsingar: skjal {doc_ref}."),
        "nb": ("Klage {complaint_id}: {stage}",
               "Klage {complaint_id} er {stage}. Mer informasjon: dokument {doc_ref}."),
        "en": ("Complaint {complaint_id}: {stage}",
               "Complaint {complaint_id} has been {stage}. More information: document {doc_ref}."),
    },
    CONTACT_FAMILY_DUE: {
        "is": ("Áminning: hafa samband við fjölskyldu fyrir {due_on}",
               "Upplýsingum var miðlað til þín en fjölskyldunni hefur ekki enn verið boðin samþætting. "
               "Viðmiðunarfrestur: {due_on}."),
        "nb": ("Påminnelse: kontakt familien innen {due_on}",
               "Opplysninger er delt med deg, men familien har ennå ikke fått tilbud om samordning. "
               "Frist: {due_on}."),
        "en": ("Reminder: contact the family by {due_on}",
               "Information was shared with you but the family has not yet been offered integration. "
               "Target date: {due_on}."),
    },
    PLAN_REVIEW_DUE: {
        "is": ("Endurmat stuðningsáætlunar {plan_id} {due_on}",
               "Endurmeta á stuðningsáætlun {plan_id} {due_on}."),
        "nb": ("Evaluering av støtteplan {plan_id} {due_on}",
               "Støtteplan {plan_id} skal evalueres {due_on}."),
        "en": ("Support plan {plan_id} review due {due_on}",
               "Support plan {plan_id} is due for review on {due_on}."),
    },
    PLAN_PERIOD_ENDS: {
        "is": ("Gildistími stuðningsáætlunar {plan_id} rennur út {due_on}",
               "Gildistími stuðningsáætlunar {plan_id} rennur út {due_on}. Endurmetið og endurnýið eftir þörfum."),
        "nb": ("Støtteplan {plan_id} utløper {due_on}",
               "Perioden for støtteplan {plan_id} utløper {due_on}. Evaluer og forny ved behov."),
        "en": ("Support plan {plan_id} ends {due_on}",
               "The period of support plan {plan_id} ends on {due_on}. Re-evaluate and renew as necessary."),
    },
    ADULT_TRANSITION_PLAN_DUE: {
        "is": ("Áætlun um þjónustu eftir 18 ára aldur vantar",
               "Viðvörun ({warning}): engin áætlun um samþættingu þjónustu eftir 18 ára aldur hefur verið "
               "samþykkt. Hana þarf að gera áður en barnið verður 18 ára, í síðasta lagi {due_on} miðað við "
               "fæðingarár."),
        "nb": ("Plan for tjenester etter 18 år mangler",
               "Varsel ({warning}): det er ikke vedtatt noen plan for samordning av tjenester etter fylte 18 år. "
               "Den må lages før barnet fyller 18, senest {due_on} ut fra fødselsåret."),
        "en": ("Adult transition plan missing",
               "Warning ({warning}): no plan for the integration of services after adulthood has been adopted. It "
               "must be made before the child turns 18, by {due_on} at the latest going by the year of birth."),
    },
    LEVEL_WITHOUT_CASE_MANAGER: {
        "is": ("Barn á {to_level}. stigi þjónustu án málstjóra",
               "Þjónusta við barn með lögheimili í sveitarfélaginu er nú á {to_level}. stigi (áður: {from_level}) "
               "og málinu hefur ekki verið skipaður málstjóri. Metið hvort barnið þurfi málstjóra "
               "(samþætting á 2. eða 3. stigi til lengri tíma)."),
        "nb": ("Barn på tjenestenivå {to_level} uten saksansvarlig",
               "Tjenestene til et barn med bosted i kommunen er nå på nivå {to_level} (før: {from_level}), og "
               "saken har ingen saksansvarlig (málstjóri). Vurder om barnet trenger en (samordning på nivå 2 "
               "eller 3 over tid)."),
        "en": ("Child at service level {to_level} without a case manager",
               "The services of a child domiciled in the municipality are now at level {to_level} (before: "
               "{from_level}) and no case manager has been appointed. Assess whether the child needs one "
               "(long-term integration at the second or third level)."),
    },
    INDIVIDUAL_PLAN_REVISION_DUE: {
        "is": ("Endurskoðun einstaklingsáætlunar {plan_id} {due_on}",
               "Endurskoða á einstaklingsáætlun (individuell plan) {plan_id} {due_on}."),
        "nb": ("Revisjon av individuell plan {plan_id} {due_on}",
               "Individuell plan {plan_id} skal justeres og revideres {due_on}."),
        "en": ("Individual plan {plan_id} revision due {due_on}",
               "Individual plan {plan_id} is due for adjustment and revision on {due_on}."),
    },
    **CLOCK_TEMPLATES,
}

# Icelandic has no own words for Norwegian decision values: use the English gloss with the Norwegian term.
_WORDS["decision"]["is"] = {key: f"{_WORDS['decision']['nb'][key]} ({value})"
                            for key, value in _WORDS["decision"]["en"].items()}


@dataclass(frozen=True)
class Rendered:
    language: str
    subject: str
    body: str


def word(kind: str, language: str, value: str) -> str:
    """A value written in a language as the notices write it (a decision ``granted`` → ``innvilget``), e.g. for
    the family's pages; the value itself when there is no word for it."""
    return _WORDS.get(kind, {}).get(language, {}).get(value, value.replace("_", " "))


def language_for(jurisdiction: str | None, preferred: str | None = None) -> str:
    """The recipient's preferred language if we have texts in it, else the jurisdiction's, else English."""
    if preferred in LANGUAGES:
        return str(preferred)
    return DEFAULT_LANGUAGE.get(jurisdiction or "", "en")


def render(kind: str, language: str, params: Mapping[str, str]) -> Rendered:
    """Render notice ``kind`` in ``language`` (``is``/``nb``/``en``) from its parameters."""
    if kind not in TEMPLATES:
        raise KeyError(f"No template for notification kind {kind!r}")
    if language not in LANGUAGES:
        raise KeyError(f"No texts in language {language!r} (have {', '.join(LANGUAGES)})")
    values: dict[str, str] = {}
    for key, value in params.items():
        if key in DATE_PARAMS and value:
            values[key] = format_date(date.fromisoformat(value), language)
        elif key in _WORDS:
            values[key] = _WORDS[key][language].get(value, value)
        else:
            values[key] = value
    subject, body = TEMPLATES[kind][language]
    footer = _FOOTER[language] if "case_id" in values else ""
    return Rendered(language, subject.format_map(values), (body + footer).format_map(values))
