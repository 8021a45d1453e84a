"""Business acceptance orders (业务受理申请单, TKT-15): routers of their API and pages."""

from __future__ import annotations

from fastapi import APIRouter

from kefu.tickets import acceptance_api, acceptance_pages

ROUTERS: list[APIRouter] = [acceptance_api.router, acceptance_pages.router]
