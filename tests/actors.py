"""Actors for the tests' scenarios, with the claims the access model decides by.

A municipality's lead or staff member acts for a municipality; the scenarios name them after it
(``person:lead-rvk``, ``person:staff-bodo-1``), so the municipality is taken from the name where none is given.
"""

from __future__ import annotations

from domain.values import Actor, Role

MUNICIPALITY_BY_SLUG = {"rvk": "muni:reykjavik", "reykjavik": "muni:reykjavik", "kop": "muni:kopavogur",
                        "kopavogur": "muni:kopavogur", "aku": "muni:akureyri", "akureyri": "muni:akureyri",
                        "bodo": "muni:bodo", "tromso": "muni:tromso", "bergen": "muni:bergen"}


def municipality_of(person_ref: str) -> str | None:
    for part in person_ref.split(":", 1)[1].split("-"):
        if part in MUNICIPALITY_BY_SLUG:
            return MUNICIPALITY_BY_SLUG[part]
    return None


def acting(person: str, role: Role, org: str | None = None, muni: str | None = None) -> Actor:
    """``Actor(person, role, org)``, and for a lead or municipal staff member their municipality (and an
    organisation: the town hall) when not given."""
    if role in (Role.MUNICIPALITY_LEAD, Role.MUNICIPAL_STAFF):
        muni = muni or municipality_of(person)
        org = org or (None if muni is None else f"org:town-hall-{muni.split(':', 1)[1]}")
    return Actor(person, role, org, muni)
