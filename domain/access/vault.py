"""Who may read and write a data subject's personal data and a case's documents in the vault.

A subject's personal data is reached through a case the subject belongs to (the child, or one of the parents):
staff who run the case need names and contact details to contact the family (domain.md §1.3, §1.4); the family
reads and corrects its own (Art. 15, Art. 16) and a parent the child's, but not the other parent's (a third
party's data, §8.3 item 5). Team members and providers see the case's documents, not the family's identity
numbers or addresses (only the data needed, §8.1). Destroying a subject's key is the controller's act (§8.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from domain.access.relations import Relation
from domain.access.rules import AccessRule

R = Relation


class VaultAction(StrEnum):
    READ_PERSONAL_DATA = "read_personal_data"
    STORE_PERSONAL_DATA = "store_personal_data"
    READ_DOCUMENT = "read_document"
    STORE_DOCUMENT = "store_document"
    SHRED = "shred"


_CASEWORK = frozenset({R.COORDINATOR, R.CASE_MANAGER})
_FAMILY_OWN = frozenset({R.DATA_SUBJECT, R.CUSTODIAN})

VAULT: Mapping[VaultAction, AccessRule] = {
    VaultAction.READ_PERSONAL_DATA: AccessRule(
        "ACCESS-VAULT-1", _CASEWORK | {R.DOMICILE_STAFF, R.DOMICILE_LEAD} | _FAMILY_OWN,
        "§1.3, §1.4: those who run the case contact the family; §8.3 item 5: one's own data and one's child's, "
        "never the other parent's"),
    VaultAction.STORE_PERSONAL_DATA: AccessRule(
        "ACCESS-VAULT-2", _CASEWORK | {R.DOMICILE_STAFF} | _FAMILY_OWN,
        "Art. 16 rectification by the family itself; recorded by the case's staff"),
    VaultAction.READ_DOCUMENT: AccessRule(
        "ACCESS-VAULT-3", _CASEWORK | {R.TEAM_MEMBER, R.SHARING_RECIPIENT, R.DOMICILE_STAFF, R.DOMICILE_LEAD,
                                       R.PARENT, R.CHILD},
        "§8.3 item 3: the case's own people read its plans and minutes; the family (Art. 15)"),
    VaultAction.STORE_DOCUMENT: AccessRule(
        "ACCESS-VAULT-4", _CASEWORK, "§1.3, §1.4: the coordinator and case manager write the plans and minutes"),
    VaultAction.SHRED: AccessRule(
        "ACCESS-VAULT-5", frozenset({R.DOMICILE_LEAD}),
        "§8.2: the municipality, as controller, decides erasure where the archives duty allows it"),
}
