"""Complaints (投诉), fault reports (障碍申告) and fault / cutover notices (故障通告、割接通知): routers."""

from __future__ import annotations

from fastapi import APIRouter

from kefu.tickets import faults_api, faults_pages

ROUTERS: list[APIRouter] = [faults_api.router, faults_pages.router]
