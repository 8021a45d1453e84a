"""Comprehensive ticket search (综合查询) and saved queries (自定义查询): routers of their API and pages."""

from __future__ import annotations

from fastapi import APIRouter

from kefu.tickets import search_api, search_pages

ROUTERS: list[APIRouter] = [search_api.router, search_pages.router]
