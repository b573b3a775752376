"""The demo's synthetic people: a name, a national ID number of the country's shape, an e-mail address, a phone
number and a street address for every child and parent of ``prosperity demo``, stored in the personal-data vault
through the API (the family enters its own: a parent for themselves and for the child), never in an event.

Each identity is a function of the person's reference alone, so ``prosperity vault scan --demo`` can rebuild
every identifier of a population and look for them in the event store, the read models and the stream. The
numbers have the right shape only (Iceland's kennitala ``DDMMYY-NNNN``, Norway's fødselsnummer ``DDMMYYNNNNN``)
and are not valid ones; the addresses use the reserved ``.invalid`` domain.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

FIRST = {"is": ("Guðrún", "Sigríður", "Kristín", "Hildur", "Ásdís", "Jón", "Sigurður", "Gunnar", "Ólafur", "Einar",
                "Þórhildur", "Bergþóra", "Hrafnkell", "Úlfar", "Ýmir"),
         "no": ("Ingrid", "Solveig", "Astrid", "Sigrid", "Ragnhild", "Ola", "Bjørn", "Knut", "Håkon", "Øystein",
                "Torunn", "Margit", "Eirik", "Sindre", "Åse")}
LAST = {"is": ("Jónsdóttir", "Sigurðardóttir", "Gunnarsdóttir", "Jónsson", "Sigurðsson", "Ólafsson", "Einarsdóttir",
               "Þórsson", "Hrafnsdóttir"),
        "no": ("Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen", "Jensen")}
STREETS = {"is": ("Laugavegur", "Hverfisgata", "Skólavörðustígur", "Hafnarstræti", "Bárugata"),
           "no": ("Storgata", "Kirkegata", "Dronningens gate", "Sjøgata", "Fjellveien")}
TOWNS = {"is": ("101 Reykjavík", "200 Kópavogur", "600 Akureyri"), "no": ("8006 Bodø", "9008 Tromsø", "5003 Bergen")}


def _country(ref: str) -> str:
    return "no" if "-no-" in ref else "is"


def identity(ref: str) -> dict[str, str]:
    """The synthetic personal data of ``ref`` (``person:child-s1-is-0003``), the same every time."""
    rng, country = random.Random(f"prosperity-demo:{ref}"), _country(ref)
    given = f"{rng.choice(FIRST[country])} {rng.choice(FIRST[country])}"
    name = f"{given} {rng.choice(LAST[country])}"
    day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(0, 99)
    serial = rng.randint(0, 10**4 - 1) if country == "is" else rng.randint(0, 10**5 - 1)
    national_id = f"{day:02d}{month:02d}{year:02d}-{serial:04d}" if country == "is" else \
        f"{day:02d}{month:02d}{year:02d}{serial:05d}"
    token = ref.split(":", 1)[1]
    return {"name": name, "national_id": national_id, "email": f"{token}@demo.prosperity.invalid",
            "phone": f"+{354 if country == 'is' else 47} {rng.randint(10**6, 10**7 - 1)}",
            "postal_address": f"{rng.choice(STREETS[country])} {rng.randint(1, 120)}, {rng.choice(TOWNS[country])}"}


def family_refs(seed: int, jurisdiction: str, index: int) -> tuple[str, str, str]:
    """The child, first parent and (Iceland, sometimes) second parent of the demo's case ``index``."""
    tag = f"s{seed}-{jurisdiction.lower()}-{index:04d}"
    return f"person:child-{tag}", f"person:parent-{tag}-a", f"person:parent-{tag}-b"


def _all_refs(seed: int, cases: int) -> Iterator[str]:
    for index in range(cases):
        for jurisdiction in ("IS", "NO"):
            yield from family_refs(seed, jurisdiction, index)


def demo_identifiers(seed: int, cases: int) -> list[str]:
    """Every name, national ID (with and without its hyphen), e-mail address, phone number and street address a
    population of ``cases`` may hold (a superset: both countries for each index)."""
    found: set[str] = set()
    for ref in _all_refs(seed, cases):
        person = identity(ref)
        found |= set(person.values()) | {person["national_id"].replace("-", "")}
    return sorted(found)
