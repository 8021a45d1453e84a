"""Comprehensive ticket search (综合查询) and saved queries (自定义查询): routers of their API and pages."""

from __future__ import annotations

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
