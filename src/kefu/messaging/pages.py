"""The pages of messaging (短信 / 邮件): sending, the send log, templates, do-not-disturb, the callers'
blacklist and the gateways. Each part lives in its own module with its own router; `kefu.app`
lists them all (flat: the route walkers of the tests see every route)."""

from __future__ import annotations

from fastapi import APIRouter

from kefu.messaging import pages_gateways, pages_lists, pages_log, pages_send, pages_templates

ROUTERS: list[APIRouter] = [
    pages_send.router,
    pages_log.router,
    pages_templates.router,
    pages_lists.router,
    pages_gateways.router,
]
