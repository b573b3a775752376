"""``create_app``: the HTTP API over ``Casework``, built in one place (the process's bootstrap).

Routers per area (``services.api.routers``: commands, cases, caseload, dashboards, audit, directory) share one
dependencies module (``services.api.deps``: the caller from the bearer token, the services, the problem
responses, the header grammar). Who may do what is not decided here: commands and reads go through the access
model (``domain.access``) inside the application layer (``services.casework``), which every entry point shares.

Cross-cutting concerns are middlewares: the edge (``services.api.edge``: rate limit, body limit, no-store
headers) outermost, then the correlation id and the request log. In production mode (``PROSPERITY_ENV``) the
API refuses to start with the development token key, no key, or a short one.

``Occurred-At`` (optional, on every command): when the fact happened, an RFC 3339 date-time with a time zone
(``2025-03-04T10:15:00Z``). Facts may be recorded after they happened (a meeting entered the next day), never
before: a time more than a few minutes in the future (TIME-3), before the case's latest fact (TIME-1) or the
child's birth (TIME-2), before 1990, without a time zone or unparsable (DATE-1) is a 422 naming ``Occurred-At``.
Without it the fact is recorded at the server's clock.

``X-Correlation-Id`` and ``Idempotency-Key`` are a UUID or a short opaque token (PRIV-1, ``contracts.refs``):
anything else is a 422 naming the header.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from psycopg_pool import ConnectionPool

from services.api.deps import (
    PROBLEM_REF,
    ReadModelNotBuilt,
    ReadModels,
    Services,
)
from services.api.edge import Edge
from services.api.idempotency import IdempotencyStore, connection_kwargs
from services.api.identity import TokenVerifier
from services.api.pages import install as install_pages
from services.api.pages.settings import WebSettings
from services.api.problems import PROBLEM_JSON, Problem, install_problem_handlers, problem
from services.api.request_log import RequestLog
from services.api.routers import (
    audit,
    audit_queries,
    caseload,
    cases,
    commands,
    dashboards,
    directory,
    public,
    reports,
    rights,
    vault,
)
from services.api.settings import ApiSettings
from services.bus.probe import bus_unready_reason
from services.casework.application import Casework
from services.casework.export_log import PostgresExportLog
from services.casework.read_log import PostgresReadLog
from services.casework.reads import CaseReads
from services.casework.subject_access import SubjectAccess
from services.casework.vault_shredder import VaultShredder
from services.observability import http as observability
from services.vault import KeyEncryptionKeys, PostgresVaultStore, Vault, VaultAccess, VaultSettings

log = structlog.get_logger()


def create_app(app: Casework, settings: ApiSettings | None = None, web: WebSettings | None = None,
               vault_keys: KeyEncryptionKeys | None = None) -> FastAPI:
    settings = settings or ApiSettings()
    settings.check_production()
    pool: ConnectionPool[Any] = ConnectionPool(kwargs=connection_kwargs(app.env), min_size=1, max_size=8,
                                               open=False, name="api", check=ConnectionPool.check_connection)
    read_log = PostgresReadLog(pool, app.env.get("POSTGRES_SCHEMA"))
    svc = Services(app=app, settings=settings, verifier=TokenVerifier(settings),
                   keys=IdempotencyStore(pool, app.env.get("POSTGRES_SCHEMA")), read_log=read_log,
                   reads=CaseReads(app, read_log), read_models=ReadModels(app.env, pool))
    vault_access = svc.vault = VaultAccess(_vault(pool, app, vault_keys), app, read_log)
    exports = svc.exports = PostgresExportLog(pool, app.env.get("POSTGRES_SCHEMA"))
    svc.subject_access = SubjectAccess(app, read_log, exports, vault_access.vault)
    app.subject_shredder = VaultShredder(vault_access.vault, app.legal_settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool.open(wait=True, timeout=30)
        svc.keys.create_table()
        svc.read_log.create_table()
        exports.create_table()
        vault_access.vault.setup()
        pages.sessions.create_table()
        svc.read_models.open()
        log.info("api.started", environment=settings.environment, pages_unavailable=pages.gap)
        try:
            yield
        finally:
            svc.read_models.close()
            pool.close()

    # FastAPIOffline: Swagger UI and ReDoc at /docs and /redoc from the package's own files, not a CDN.
    api = FastAPIOffline(title="prosperity", version="v1", lifespan=lifespan,
                  description="Commands and reads of Iceland's Act 86/2021 and Norway's barnekoordinator right. "
                              "Each operation says who may call it, in terms of the caller's relationship to the "
                              "case (also as `x-prosperity-access`). Errors are RFC 9457 problem details.")
    api.state.services = svc
    install_problem_handlers(api)
    vault.install_problem_handlers(api)

    async def not_built(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ReadModelNotBuilt)
        return problem(503, "read-model-not-built", "Read model not built", str(error), read_model=error.name,
                       headers={"Retry-After": "30"})

    api.add_exception_handler(ReadModelNotBuilt, not_built)

    # The JSON API's routes first: a request is matched against the routes in order, and commands are the most
    # frequent requests (the pages' routes after them cost the commands nothing).
    api.include_router(commands.router())
    for area in (cases, caseload, directory, dashboards, audit, public, audit_queries, reports, vault, rights):
        api.include_router(area.router)
    pages = install_pages(api, svc, pool, web)  # the web pages (services.api.pages), inside the edge
    api.add_middleware(RequestLog)  # the correlation id and one log line per request (services.api.request_log)
    api.add_middleware(Edge, max_body_bytes=settings.max_body_bytes, rate_limit=settings.rate_limit)
    observability.install(api)  # outermost: rate-limited and oversized requests are counted too

    @api.get("/health", tags=["operations"], summary="Liveness: the process answers")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/ready", tags=["operations"], summary="Readiness: PostgreSQL (and the bus, if configured) answers",
             responses={503: {"model": Problem, "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}})
    def ready() -> Response:
        try:
            svc.keys.ping()
        except Exception as error:
            log.warning("api.not_ready", error=type(error).__name__)
            return problem(503, "not-ready", "Not ready", "PostgreSQL does not answer.")
        if (bus_down := bus_unready_reason()) is not None:  # only when this API was given a bus identity
            log.warning("api.not_ready", error="bus")
            return problem(503, "not-ready", "Not ready", bus_down)
        return JSONResponse({"status": "ready"})

    @api.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """prometheus-client's default registry (the ops-port contract's third path, services/ops.py)."""
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return api


def _vault(pool: ConnectionPool[Any], app: Casework, keys: KeyEncryptionKeys | None) -> Vault:
    """The vault's tables beside the event store's (or in ``PROSPERITY_VAULT_SCHEMA``), its KEKs from the settings."""
    settings = VaultSettings()
    return Vault(PostgresVaultStore(pool, settings.schema_name or app.env.get("POSTGRES_SCHEMA") or "public"),
                 keys or settings.keyring())
