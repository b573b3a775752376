"""Notice texts of the law's clock (is, nb, en): a deadline warned about, breached, reached or escalated.

Like every notice (``templates``), they carry only references and codes: the rule (the T-number of domain.md §3),
the deadline's id, its due date and the rules version the clock applied; the case itself is opened in the case
system, where access is checked and logged.
"""

from __future__ import annotations

from typing import Final

DEADLINE_WARNING: Final = "deadline_warning"
DEADLINE_BREACHED: Final = "deadline_breached"
DEADLINE_REACHED: Final = "deadline_reached"
DEADLINE_ESCALATED: Final = "deadline_escalated"

_RULES = {
    "is": " (regla {rule_id}, frestur {deadline_id}, reglur {rules_version})",
    "nb": " (regel {rule_id}, frist {deadline_id}, regelverk {rules_version})",
    "en": " (rule {rule_id}, deadline {deadline_id}, rules {rules_version})",
}

CLOCK_TEMPLATES: Final[dict[str, dict[str, tuple[str, str]]]] = {
    DEADLINE_WARNING: {
        "is": ("Frestur nálgast: {rule_id} {due_on}",
               "Frestur málsins rennur út {due_on} ({warning})." + _RULES["is"]),
        "nb": ("Fristen nærmer seg: {rule_id} {due_on}",
               "En frist i saken løper ut {due_on} ({warning})." + _RULES["nb"]),
        "en": ("Deadline approaching: {rule_id} on {due_on}",
               "A deadline of the case falls due on {due_on} ({warning})." + _RULES["en"]),
    },
    DEADLINE_BREACHED: {
        "is": ("Frestur liðinn: {rule_id}",
               "Frestur málsins rann út {due_on} án þess að skyldunni væri sinnt." + _RULES["is"]),
        "nb": ("Fristen er oversittet: {rule_id}",
               "En frist i saken løp ut {due_on} uten at plikten ble oppfylt." + _RULES["nb"]),
        "en": ("Deadline breached: {rule_id}",
               "A deadline of the case fell due on {due_on} and the duty was not met." + _RULES["en"]),
    },
    DEADLINE_REACHED: {
        "is": ("Tímamót í máli: {rule_id} {due_on}",
               "Dagur sem lögin setja er kominn ({due_on}); skylda fellur á hann {stage}." + _RULES["is"]),
        "nb": ("Tidspunkt nådd: {rule_id} {due_on}",
               "En dato loven setter, er nådd ({due_on}); en plikt faller på den {stage}." + _RULES["nb"]),
        "en": ("Date reached: {rule_id} on {due_on}",
               "A date the law sets has come ({due_on}); a duty falls due on it {stage}." + _RULES["en"]),
    },
    DEADLINE_ESCALATED: {
        "is": ("Stigmögnun: frestur {rule_id} enn liðinn",
               "Frestur málsins rann út {due_on} og skyldunni hefur enn ekki verið sinnt. Vinsamlegast "
               "bregðist við." + _RULES["is"]),
        "nb": ("Eskalering: fristen {rule_id} er fortsatt oversittet",
               "En frist i saken løp ut {due_on}, og plikten er fortsatt ikke oppfylt. Vennligst følg opp."
               + _RULES["nb"]),
        "en": ("Escalation: deadline {rule_id} still breached",
               "A deadline of the case fell due on {due_on} and the duty is still not met. Please act."
               + _RULES["en"]),
    },
}
