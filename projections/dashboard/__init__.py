"""The municipal and national dashboard (domain.md §6).

* :mod:`.projection`: ``DashboardProjection`` (name ``dashboard``, version 1): each published fact becomes
  ``INSERT``/``UPDATE`` statements on rows of *its own* case or institution only (:mod:`.schema`). No
  counters: facts of different cases arrive in any order, and per-entity rows come out identical under
  any interleaving; every figure is aggregated at query time.
* :mod:`.queries`: services by level (children and services, never cases), the integration and
  barnekoordinator funnels, timeliness T1-T4 (PostgreSQL ``percentile_cont``; thresholds are query
  parameters, ``None`` = the law gives no number, not enforced), plans due and overdue, the transition
  watch, and the suppressed national aggregate.
* :mod:`.oversight`: closures without a plan, complaints by stage, caseload per case manager or
  barnekoordinator, coordinator coverage per institution.
* :mod:`.report`: the half-yearly status report (Jan 1-Jun 30, Jul 1-Dec 31) and its Reykjavík-style text.
* :mod:`.calendar`, :mod:`.stats`: pure helpers (local days, age bands, half-years; suppression, percentiles).

Small-cell suppression [I]: in the national aggregate every count from 1 to 4 is published as ``"<5"``;
0 stays ``"0"`` (an empty cell singles nobody out); 5 and more are shown. No totals are published beside
suppressed cells, since a total minus the visible cells would give a suppressed one back. Nothing
row-level leaves through the national aggregate.

Ages: the contracts publish the birth *year* only, so ages are "the age reached this year" and the
transition watch is conservative (a child is listed when any birth date in the year could put them at
16.5 to under 18).
"""
