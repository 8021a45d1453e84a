"""Ticket merging (案例合并), similar-ticket suggestions and closed ticket to knowledge: routers."""

from __future__ import annotations

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
