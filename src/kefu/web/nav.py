"""The navigation menu. Each domain registers its entries; a user sees those their permissions allow."""

from __future__ import annotations

from dataclasses import dataclass

from kefu.core.permissions import Actor


@dataclass(frozen=True)
class NavItem:
    section: str
    label: str
    url: str
    icon: str
    permissions: tuple[str, ...] = ()  # any of these admits; empty: every signed-in user
    order: int = 100


SECTIONS: dict[str, tuple[str, int]] = {
    "workbench": ("Workbench", 10),
    "admin": ("Administration", 80),
    "audit": ("Audit", 90),
}
ITEMS: list[NavItem] = []


def register(item: NavItem) -> None:
    ITEMS.append(item)


def section(code: str, label: str, order: int) -> None:
    SECTIONS[code] = (label, order)


def menu_for(actor: Actor) -> list[tuple[str, list[NavItem]]]:
    """The sections and items `actor` may open, in menu order."""
    visible: dict[str, list[NavItem]] = {}
    for item in sorted(ITEMS, key=lambda i: (i.order, i.label)):
        if not item.permissions or actor.can_any(*item.permissions):
            visible.setdefault(item.section, []).append(item)
    order = sorted(visible, key=lambda s: SECTIONS.get(s, (s, 999))[1])
    return [(SECTIONS.get(s, (s, 0))[0], visible[s]) for s in order]
