"""Tables of ticket merging."""

from __future__ import annotations
