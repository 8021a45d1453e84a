"""Outbound campaigns (外呼任务): the routers of their API and pages."""

from __future__ import annotations

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
