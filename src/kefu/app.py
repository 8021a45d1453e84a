"""Builds the FastAPI application: middleware, routers, static files, start-up and shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from itsdangerous import URLSafeTimedSerializer

from kefu import __version__
from kefu.core import clock, events, jobs
from kefu.db import db
from kefu.settings import Settings, get_settings
from kefu.web import errors
from kefu.web.middleware import RequestMiddleware

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"


def routers() -> list[APIRouter]:
    """Every router of the product (tests walk their routes)."""
    # Imported here so that importing kefu.app stays cheap for the CLI.
    from kefu.audit import api as audit_api
    from kefu.audit import pages as audit_pages
    from kefu.callcenter import api as callcenter_api
    from kefu.callcenter import campaigns_web as callcenter_campaigns_web
    from kefu.callcenter import ivr_web as callcenter_ivr_web
    from kefu.callcenter import monitor_api as callcenter_monitor_api
    from kefu.callcenter import monitor_pages as callcenter_monitor_pages
    from kefu.callcenter import pages as callcenter_pages
    from kefu.callcenter import queues_web as callcenter_queues_web
    from kefu.callcenter import recordings_api as callcenter_recordings_api
    from kefu.callcenter import stats_pages as callcenter_stats_pages
    from kefu.core.search import api as search_api
    from kefu.core.search import pages as search_pages
    from kefu.customers import api as customers_api
    from kefu.customers import kinds_api as customer_kinds_api
    from kefu.customers import page_360, pages_config, view360_api
    from kefu.customers import pages as customer_pages
    from kefu.customers.adapters import api as business_systems_api
    from kefu.customers.contacts import api as contacts_api
    from kefu.knowledge import api as knowledge_api
    from kefu.knowledge import categories_api as knowledge_categories_api
    from kefu.knowledge import categories_pages as knowledge_categories_pages
    from kefu.knowledge import manage_pages as knowledge_manage_pages
    from kefu.knowledge import pages as knowledge_pages
    from kefu.knowledge import review_pages as knowledge_review_pages
    from kefu.knowledge.qa import api as knowledge_qa_api
    from kefu.knowledge.qa import pages as knowledge_qa_pages
    from kefu.messaging import api as messaging_api
    from kefu.messaging import batches_api as messaging_batches_api
    from kefu.messaging import batches_pages as messaging_batches_pages
    from kefu.messaging import pages as messaging_pages
    from kefu.messaging import ticket_mail_api
    from kefu.notices import announcements_api, announcements_pages
    from kefu.notices import api as notices_api
    from kefu.notices import pages as notices_pages
    from kefu.org import api as org_api
    from kefu.org import pages as org_pages
    from kefu.org.calendar import api as calendar_api
    from kefu.org.calendar import pages as calendar_pages
    from kefu.org.calendar import roster_api, roster_pages
    from kefu.org.config import api as config_api
    from kefu.org.config import pages as config_pages
    from kefu.tickets import acceptance_web as ticket_acceptance_web
    from kefu.tickets import api as tickets_api
    from kefu.tickets import callbacks_api, callbacks_pages
    from kefu.tickets import faults_web as ticket_faults_web
    from kefu.tickets import merge_web as ticket_merge_web
    from kefu.tickets import pages as ticket_pages
    from kefu.tickets import search_web as ticket_search_web
    from kefu.tickets.setup import api as ticket_setup_api
    from kefu.tickets.setup import pages as ticket_setup_pages
    from kefu.web import pages as shell_pages
    from kefu.workflow import api as workflow_api
    from kefu.workflow import builder_api, builder_pages, tracking
    from kefu.workflow import pages as workflow_pages
    from kefu.workflow.runtime import api as runtime_api
    from kefu.workflow.runtime import pages as runtime_pages

    return [
        shell_pages.router,
        org_api.router,
        org_pages.router,
        config_api.dictionary_router,
        config_api.parameters_router,
        config_pages.router,
        calendar_api.router,
        roster_api.router,
        calendar_pages.router,
        roster_pages.router,
        notices_api.router,
        notices_pages.router,
        messaging_api.router,
        *messaging_pages.ROUTERS,
        messaging_batches_api.router,
        messaging_batches_pages.router,
        callcenter_api.router,
        callcenter_api.zammad_router,
        callcenter_pages.router,
        callcenter_monitor_api.router,
        callcenter_monitor_pages.router,
        callcenter_stats_pages.router,
        callcenter_recordings_api.router,
        *callcenter_queues_web.ROUTERS,
        *callcenter_ivr_web.ROUTERS,
        *callcenter_campaigns_web.ROUTERS,
        *ticket_search_web.ROUTERS,
        *ticket_merge_web.ROUTERS,
        *ticket_faults_web.ROUTERS,
        *ticket_acceptance_web.ROUTERS,
        # The publisher's routes first: "/announcements/manage" would otherwise match "/{announcement_id}".
        announcements_api.manage_router,
        announcements_api.router,
        announcements_pages.router,
        # Before the customers router: "/customers/contacts" would otherwise match "/customers/{customer_id}".
        contacts_api.router,
        customer_kinds_api.router,
        business_systems_api.router,
        view360_api.router,
        customers_api.router,
        # Before the 360 page: "/customers/new" would otherwise match "/customers/{customer_id}".
        customer_pages.router,
        pages_config.router,
        page_360.router,
        knowledge_categories_api.router,
        knowledge_qa_api.router,
        knowledge_api.router,
        # The question pages before the knowledge pages: "/knowledge/questions" is not an article.
        knowledge_qa_pages.router,
        knowledge_manage_pages.router,
        knowledge_review_pages.router,
        knowledge_categories_pages.router,
        knowledge_pages.router,
        audit_api.router,
        audit_pages.router,
        search_api.router,
        search_pages.router,
        workflow_api.router,
        builder_api.router,
        workflow_pages.router,
        builder_pages.router,
        runtime_api.router,
        runtime_pages.router,
        tracking.router,
        # Before the tickets router: "/tickets/callbacks" would otherwise match "/tickets/{ticket_id}".
        callbacks_api.router,
        callbacks_pages.router,
        ticket_setup_api.router,
        ticket_setup_pages.router,
        # Before the tickets router: its path lies under /api/v1/tickets.
        ticket_mail_api.router,
        tickets_api.router,
        # After the callback pages: "/tickets/callbacks" would otherwise match "/tickets/{ticket_id}".
        ticket_pages.router,
    ]


async def _follow_events() -> None:
    """Keep this process's caches true to changes made in any process (dictionary, calendar)."""
    from kefu.org.calendar import service as calendar_service
    from kefu.org.calendar.common import CALENDAR_CHANGED
    from kefu.org.config import dictionary

    async for event in events.hub.subscribe([dictionary.DICTIONARY_CHANGED, CALENDAR_CHANGED]):
        dictionary.on_event(event)
        calendar_service.on_event(event)


def create_app(settings: Settings | None = None, *, configure_database: bool = True) -> FastAPI:
    settings = settings or get_settings()
    import kefu.tasks  # noqa: F401 — registers every background task

    clock.set_local_tz(settings.timezone)
    if configure_database:
        db.configure(settings.resolved_database_url(), echo=settings.sql_echo)
    events.configure(settings.redis_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        events.hub.start()
        followers = [asyncio.create_task(_follow_events())]
        consumer = None
        if settings.jobs_in_process and not settings.jobs_immediate:
            consumer = jobs.start_consumer(embedded=True)
        try:
            yield
        finally:
            for task in followers:
                task.cancel()
            if consumer is not None:
                consumer.stop(graceful=True)
            events.hub.stop()

    app = FastAPI(
        title="kefu",
        version=__version__,
        description="Customer-service center platform API. Every page action is available here.",
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    app.state.signer = URLSafeTimedSerializer(settings.resolved_secret_key(), salt="kefu")
    trusted = frozenset(p.strip() for p in settings.trusted_proxies.split(",") if p.strip())
    app.add_middleware(RequestMiddleware, trusted_proxies=trusted)
    errors.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in routers():
        app.include_router(router)
    return app
