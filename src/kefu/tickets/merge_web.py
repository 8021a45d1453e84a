"""Ticket merging (案例合并), similar-ticket suggestions and closed ticket to knowledge: routers."""

from __future__ import annotations

from fastapi import APIRouter

from kefu.tickets import merge_api, merge_pages

ROUTERS: list[APIRouter] = [merge_api.router, merge_pages.router]
