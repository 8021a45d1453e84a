"""Background work of outbound campaigns (外呼任务)."""

from __future__ import annotations
