"""Tables of complaints, fault reports and fault / cutover notices."""

from __future__ import annotations
