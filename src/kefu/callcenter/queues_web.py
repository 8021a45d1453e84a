"""Queues, skills and routing (队列、技能、ACD): the routers of their API and pages."""

from __future__ import annotations

from fastapi import APIRouter

from kefu.callcenter import queues_api, queues_pages

ROUTERS: list[APIRouter] = [queues_api.router, queues_pages.router]
