"""IVR menus (语音导航) and voice prompts (语音提示): the routers of their API and pages."""

from __future__ import annotations

from fastapi import APIRouter

from kefu.callcenter import ivr_api, ivr_pages

ROUTERS: list[APIRouter] = [ivr_api.router, ivr_pages.router]
