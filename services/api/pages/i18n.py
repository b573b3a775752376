"""The pages' words in English (``en``), Icelandic (``is``) and Norwegian bokmål (``nb``): a small catalogue.

The family's pages (their case, coordinator, plan, decisions, complaints and notices) and the shared layout are
in all three; staff pages are in English. The language is the ``lang`` cookie the selector sets, else the
browser's ``Accept-Language`` (RFC 9110 § 12.5.4 quality values), else English. ``nb`` is also chosen for ``no``
and ``nn`` (the notices are written in bokmål). Dates are written as the notices write them
(:func:`projections.notifications.templates.format_date`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from projections.notifications.templates import format_date

LANGUAGES = ("en", "is", "nb")
LANGUAGE_NAMES = {"en": "English", "is": "Íslenska", "nb": "Norsk bokmål"}
COOKIE = "lang"
_ALIASES = {"en": "en", "is": "is", "nb": "nb", "no": "nb", "nn": "nb"}

M: dict[str, tuple[str, str, str]] = {
    # key: (English, Icelandic, Norwegian bokmål)
    "skip": ("Skip to content", "Fara beint í efni", "Gå til innholdet"),
    "sign_in": ("Sign in", "Innskráning", "Logg inn"),
    "sign_out": ("Sign out", "Útskrá", "Logg ut"),
    "signed_in_as": ("Signed in as", "Innskráð(ur) sem", "Innlogget som"),
    "language": ("Language", "Tungumál", "Språk"),
    "choose": ("Choose", "Velja", "Velg"),
    "not_found_title": ("No such case", "Ekkert slíkt mál", "Ingen slik sak"),
    "not_found_text": ("There is no case here that you may see.", "Hér er ekkert mál sem þú hefur aðgang að.",
                       "Det finnes ingen sak her som du har tilgang til."),
    "my_cases": ("My case", "Málið mitt", "Min sak"),
    "no_cases": ("You have no case we can show you.", "Ekkert mál fannst sem hægt er að sýna þér.",
                 "Vi fant ingen sak vi kan vise deg."),
    "open_case": ("Open", "Opna", "Åpne"),
    "case_of": ("The case of", "Mál", "Saken til"),
    "status": ("Where the case stands", "Staða málsins", "Hvor saken står"),
    "opened": ("Episode", "Lota", "Periode"),
    "your_coordinator": ("Who your coordinator is", "Hver tengiliðurinn þinn er", "Hvem barnekoordinatoren din er"),
    "coordinator": ("Coordinator", "Tengiliður", "Barnekoordinator"),
    "institution": ("Institution", "Stofnun", "Enhet"),
    "case_manager": ("Case manager", "Málstjóri", "Saksbehandler"),
    "no_coordinator": ("No coordinator is named yet.", "Enginn tengiliður hefur verið tilnefndur enn.",
                       "Ingen barnekoordinator er oppnevnt ennå."),
    "coordinator_lookup": (
        "To find the coordinator of another school or service, look it up or ask your municipality.",
        "Til að finna tengilið annars skóla eða þjónustu, flettu því upp eða hafðu samband við sveitarfélagið.",
        "For å finne koordinatoren til en annen skole eller tjeneste, slå det opp eller spør kommunen."),
    "plan": ("The plan", "Áætlunin", "Planen"),
    "no_plan": ("No plan has been adopted yet.", "Engin áætlun hefur verið samþykkt enn.",
                "Ingen plan er vedtatt ennå."),
    "plan_version": ("Version", "Útgáfa", "Versjon"),
    "adopted_on": ("Adopted", "Samþykkt", "Vedtatt"),
    "next_review": ("Next review", "Næsta endurmat", "Neste revisjon"),
    "element": ("Part of the plan", "Hluti áætlunar", "Del av planen"),
    "content": ("What it says", "Efni", "Innhold"),
    "not_applicable": ("Not applicable", "Á ekki við", "Ikke aktuelt"),
    "decisions": ("Decisions", "Ákvarðanir", "Vedtak"),
    "no_decisions": ("No written decision yet.", "Engin skrifleg ákvörðun enn.", "Ikke noe skriftlig vedtak ennå."),
    "decision": ("Decision", "Ákvörðun", "Vedtak"),
    "complain_by": ("Complain by", "Kærufrestur til", "Klagefrist"),
    "how_to_complain": ("How to complain", "Hvernig á að kvarta", "Slik klager du"),
    "complain_no": (
        "Send your complaint to the municipality's coordinating unit, which reconsiders the decision first; if it "
        "keeps the decision, it sends your complaint on to Statsforvalteren.",
        "Sendu kvörtunina til samhæfingareiningar sveitarfélagsins, sem endurskoðar ákvörðunina fyrst og sendir "
        "hana áfram til Statsforvalteren ef ákvörðunin stendur.",
        "Send klagen til kommunens koordinerende enhet, som først vurderer vedtaket på nytt; blir vedtaket "
        "stående, sender enheten klagen videre til Statsforvalteren."),
    "complain_is": (
        "You (or someone acting for you) can complain to Gæða- og eftirlitsstofnun velferðarmála (GEV) through "
        "\"Mínar síður\" on gev.is, saying whom it concerns and what happened. The law sets no deadline we know "
        "of, so none is given here.",
        "Þú (eða sá sem kemur fram fyrir þína hönd) getur kvartað til Gæða- og eftirlitsstofnunar velferðarmála "
        "(GEV) á \"Mínum síðum\" á gev.is, og tilgreint hvern málið varðar og hvað gerðist. Okkur er ekki kunnugt "
        "um lögbundinn frest og því er enginn tilgreindur hér.",
        "Du (eller noen som handler på dine vegne) kan klage til Gæða- og eftirlitsstofnun velferðarmála (GEV) "
        "gjennom «Mínar síður» på gev.is. Vi kjenner ikke til noen lovfestet frist, så ingen er oppgitt her."),
    "deadline_passed": ("the deadline has passed", "fresturinn er liðinn", "fristen er ute"),
    "complaints": ("Complaints", "Kvartanir", "Klager"),
    "no_complaints": ("No complaint recorded.", "Engin kvörtun skráð.", "Ingen klage registrert."),
    "stage": ("Stage", "Staða", "Trinn"),
    "notices": ("Notices you received", "Tilkynningar sem þú fékkst", "Varsler du har fått"),
    "no_notices": ("No notices yet.", "Engar tilkynningar enn.", "Ingen varsler ennå."),
    "sent": ("Sent", "Sent", "Sendt"),
    "subject": ("Subject", "Efni", "Emne"),
    "services": ("Services", "Þjónusta", "Tjenester"),
    "level": ("Level", "Stig", "Nivå"),
    "team": ("Support team", "Stuðningsteymi", "Team"),
    "family_intro": (
        "What the case holds about your child, as the people who work on it see it. Documents are named by "
        "reference; open them with your caseworker.",
        "Það sem málið geymir um barnið þitt, eins og starfsfólkið sér það. Skjöl eru nefnd með tilvísun; "
        "opnaðu þau með tengiliðnum.",
        "Det saken inneholder om barnet ditt, slik de som arbeider med den ser det. Dokumenter er oppgitt med "
        "referanse; åpne dem sammen med saksbehandleren."),
    "yes": ("yes", "já", "ja"),
    "no": ("no", "nei", "nei"),
    # the support plan's five elements (seed 000) and the individual plan's nine items (forskrift § 19)
    "el_needs_assessment": ("Needs assessment", "Mat á þörfum", "Kartlegging av behov"),
    "el_objectives": ("Objectives", "Markmið", "Mål"),
    "el_provider_roles": ("Who provides what", "Hlutverk þjónustuveitenda", "Hvem gjør hva"),
    "el_evaluation_method": ("How progress is evaluated", "Hvernig árangur er metinn", "Hvordan framdriften vurderes"),
    "el_duration": ("Duration", "Gildistími", "Varighet"),
    "el_goals_resources_and_needs": ("Goals, resources and needs", "Markmið, styrkleikar og þarfir",
                                     "Mål, ressurser og behov"),
    "el_participants": ("Who took part", "Þátttakendur", "Hvem deltok"),
    "el_responsible_for_coordination": ("Who coordinates", "Hver samhæfir", "Hvem koordinerer"),
    "el_contributions": ("What each service contributes", "Framlag hverrar þjónustu", "Hva hver tjeneste bidrar med"),
    "el_measures": ("Measures", "Aðgerðir", "Tiltak"),
    "el_implementation": ("How the measures are carried out", "Framkvæmd aðgerða", "Hvordan tiltakene gjennomføres"),
    "el_plan_period": ("Plan period", "Tímabil áætlunar", "Planperiode"),
    "el_consent": ("Consent (to the plan, to sharing)", "Samþykki (áætlun, miðlun)",
                   "Samtykke (til planen, til deling)"),
    "el_cooperation_with_other_services": ("Cooperation with other services", "Samstarf við aðra þjónustu",
                                           "Samarbeid med andre tjenester"),
    # the public "who is my coordinator" page (services.api.pages.lookup, seed 003)
    "lookup_title": ("Who is my child's coordinator?", "Hver er tengiliður barnsins míns?",
                     "Hvem er koordinatoren for barnet mitt?"),
    "lookup_intro": (
        "Every child and parent can find the coordinator of services nearby. Say where you live and how old the "
        "child is: we answer which institution's coordinator serves the child. You do not sign in, and we keep "
        "nothing of what you ask.",
        "Öll börn og foreldrar eiga að geta fundið tengilið farsældar í nærumhverfi sínu. Segðu hvar þú býrð og "
        "hvað barnið er gamalt: við svörum hvaða stofnunar tengiliður þjónar barninu. Engin innskráning, og við "
        "geymum ekkert af því sem þú spyrð um.",
        "Alle barn og foreldre skal kunne finne koordinatoren i nærmiljøet. Si hvor du bor og hvor gammelt barnet "
        "er: vi svarer hvilken enhets koordinator som betjener barnet. Du logger ikke inn, og vi lagrer ingenting "
        "av det du spør om."),
    "lookup_municipality": ("Municipality", "Sveitarfélag", "Kommune"),
    "lookup_age": ("Age of the child (years; empty while expecting)", "Aldur barnsins (ár; autt á meðgöngu)",
                   "Barnets alder (år; tomt under svangerskapet)"),
    "lookup_school": ("The child attends", "Barnið sækir", "Barnet går i"),
    "lookup_school_unknown": ("(not said)", "(ekki tilgreint)", "(ikke oppgitt)"),
    "lookup_school_none": ("no school", "engan skóla", "ingen skole"),
    "lookup_school_preschool": ("preschool", "leikskóla", "barnehage"),
    "lookup_school_primary": ("primary school", "grunnskóla", "barneskole/ungdomsskole"),
    "lookup_school_secondary": ("upper secondary school", "framhaldsskóla", "videregående skole"),
    "lookup_ask": ("Find the coordinator", "Finna tengilið", "Finn koordinatoren"),
    "lookup_answer": ("Where the child finds a coordinator", "Hvar barnið finnur tengilið",
                      "Hvor barnet finner en koordinator"),
    "lookup_has_coordinator": ("has a designated coordinator", "hefur tilnefndan tengilið",
                               "har en oppnevnt koordinator"),
    "lookup_no_coordinator": ("no coordinator designated yet: ask the municipality",
                              "enginn tengiliður tilnefndur enn: spyrðu sveitarfélagið",
                              "ingen koordinator oppnevnt ennå: spør kommunen"),
    "lookup_none_registered": ("No such institution is registered in this municipality yet.",
                               "Engin slík stofnun er skráð í sveitarfélaginu enn.",
                               "Ingen slik enhet er registrert i kommunen ennå."),
    "lookup_fallback": ("For a child outside preschool and school: the municipality's social services.",
                        "Fyrir barn sem er hvorki í leikskóla né skóla: félagsþjónusta sveitarfélagsins.",
                        "For et barn utenfor barnehage og skole: kommunens sosialtjeneste."),
    "lookup_no_names": ("We name institutions and roles, never a person.",
                        "Við nefnum stofnanir og hlutverk, aldrei einstaklinga.",
                        "Vi oppgir enheter og roller, aldri personer."),
    "lookup_link": ("Who is the coordinator for another age or school?", "Hver er tengiliður fyrir annan aldur "
                    "eða skóla?", "Hvem er koordinatoren for en annen alder eller skole?"),
}
"""Every message in the three languages (a test checks that none is missing)."""

STATUS: dict[str, tuple[str, str, str]] = {
    # Iceland (domain.case_iceland.IcelandStatus)
    "contact": ("first contact with the coordinator", "fyrstu samskipti við tengilið",
                "første kontakt med koordinator"),
    "integration_active_l1": ("integrated services at the first level", "samþætt þjónusta á fyrsta stigi",
                              "samordnede tjenester på første nivå"),
    "awaiting_case_manager": ("waiting for a case manager", "beðið eftir málstjóra", "venter på saksbehandler"),
    "team_forming": ("the support team is being formed", "verið er að mynda stuðningsteymi",
                     "støtteteamet settes sammen"),
    "team_active_no_plan": ("the support team works; no plan yet", "stuðningsteymi starfar; engin áætlun enn",
                            "støtteteamet arbeider; ingen plan ennå"),
    "plan_active": ("a support plan is in force", "stuðningsáætlun er í gildi", "en støtteplan gjelder"),
    "closed_without_plan": ("closed without a plan", "lokað án áætlunar", "avsluttet uten plan"),
    "withdrawn": ("the request was withdrawn", "beiðnin var dregin til baka", "anmodningen ble trukket"),
    # Norway (domain.case_norway.NorwayStatus)
    "requested": ("requested", "beiðni móttekin", "anmodet"),
    "assessed": ("assessed", "metið", "vurdert"),
    "granted": ("granted", "samþykkt", "innvilget"),
    "active": ("a barnekoordinator is appointed", "barnekoordinator skipaður", "barnekoordinator er oppnevnt"),
    "refused": ("refused", "synjað", "avslått"),
    "terminated": ("terminated", "lokið með ákvörðun", "avsluttet ved vedtak"),
    "ordinary_coordinator_assessment": ("assessing a coordinator after 18", "mat á tengilið eftir 18 ára aldur",
                                        "vurdering av koordinator etter 18 år"),
    "adult_coordinator": ("a coordinator after 18", "tengiliður eftir 18 ára aldur", "koordinator etter 18 år"),
    "ended": ("ended", "lokið", "avsluttet"),
    "closed": ("closed", "lokað", "avsluttet"),
}
"""Where a case stands, as the family reads it (both laws' statuses; a test checks every status is here)."""


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The page language: the selector's cookie, else the best of ``Accept-Language``, else English."""
    if cookie in LANGUAGES:
        return cookie
    best, best_q = "en", 0.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        language = _ALIASES.get(tag.strip().lower().split("-")[0])
        if language is not None and q > best_q:
            best, best_q = language, q
    return best


def translator(language: str) -> Callable[[str], str]:
    index = LANGUAGES.index(language)

    def t(key: str) -> str:
        return M[key][index]

    return t


def status_words(language: str) -> Callable[[str], str]:
    index = LANGUAGES.index(language)
    return lambda status: STATUS[status][index] if status in STATUS else status.replace("_", " ")


def written_date(value: date | None, language: str) -> str:
    return "" if value is None else format_date(value, language)
