"""Commands that commute all succeed when sent at once (issue 14): 50 invitations of 50 different people to one
case's support team, in parallel through the HTTP API over real PostgreSQL, leave all 50 members on the team
once, with 50 facts at 50 consecutive versions; and the aggregate cache never serves a stale case."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

from contracts import commands as c
from services.casework.application import Casework, CommandMeta
from services.infra.postgres_env import PgTarget
from tests.integration.test_api_commands import (
    CM,
    COORD,
    ICELAND_TO_TEAM,
    Api,
    api,
    open_iceland_case,
    run_steps,
)

INVITATIONS = 50
__all__ = ["api"]  # the API fixture of the command tests, reused


def invitation(case_id: UUID, i: int) -> c.InviteGeneralServiceProvider:
    return c.InviteGeneralServiceProvider(case_id=case_id, person_ref=f"person:helper-{i}",
                                          org_ref=f"org:club-{i}", necessity_justification_ref=f"doc:why-{i}")


def case_at_team_stage(api: Api) -> tuple[UUID, int]:
    case_id = open_iceland_case(api)
    return case_id, run_steps(api, case_id, ICELAND_TO_TEAM, 1)


def test_fifty_parallel_invitations_of_different_people_all_succeed_once(api: Api) -> None:
    case_id, version = case_at_team_stage(api)
    day = ICELAND_TO_TEAM[-1][0] + 1

    with ThreadPoolExecutor(INVITATIONS) as pool:
        responses = list(pool.map(lambda i: api.post(invitation(case_id, i), CM, day), range(INVITATIONS)))

    refused = [r.text for r in responses if r.status_code != 200]
    assert not refused, refused
    versions = sorted(r.json()["version"] for r in responses)
    assert versions == list(range(version + 1, version + INVITATIONS + 1))
    fresh = Casework(api.app.env)  # another process's view: no cache, everything from the store
    try:
        case: Any = fresh.get_case(case_id)
        invited: list[Any] = list(fresh.events.get(case_id, gt=version))
    finally:
        fresh.close()
    assert {f"person:helper-{i}" for i in range(INVITATIONS)} <= set(case.team_members)
    assert [type(e).__name__ for e in invited] == ["SupportTeamMemberInvited"] * INVITATIONS
    assert sorted(e.member.person_ref for e in invited) == sorted(f"person:helper-{i}" for i in range(INVITATIONS))


def test_a_case_changed_by_another_process_is_fast_forwarded_not_served_stale(api: Api, pg_schema: PgTarget) -> None:
    """The API's cache holds the case; another process (its own Casework) records an invitation; the API's next
    command is decided on that newer version: inviting the same person again is refused by the law (IS-R15)."""
    case_id, version = case_at_team_stage(api)
    day = ICELAND_TO_TEAM[-1][0] + 1
    assert api.app.get_case(case_id).version == version  # now cached in the API's process
    other = Casework(pg_schema.eventsourcing_env())
    try:
        other.invite_general_service_provider(invitation(case_id, 0), CommandMeta(CM, occurred_at=api.clock.now))
    finally:
        other.close()

    again = api.post(invitation(case_id, 0), CM, day)

    assert again.status_code == 409 and "IS-R15" in again.text, again.text
    assert api.post(invitation(case_id, 1), CM, day).json()["version"] == version + 2
    cached: Any = api.app.get_case(case_id)
    assert COORD.person_ref in cached.team_members

