"""Tables of the comprehensive search and saved queries."""

from __future__ import annotations
