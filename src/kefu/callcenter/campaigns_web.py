"""Outbound campaigns (外呼任务): the routers of their API and pages."""

from __future__ import annotations

from fastapi import APIRouter

from kefu.callcenter import campaigns_api, campaigns_pages

ROUTERS: list[APIRouter] = [campaigns_api.router, campaigns_pages.router]
