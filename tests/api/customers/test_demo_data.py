"""The demo customers: valid data through the real services, idempotent, and findable."""

from __future__ import annotations

from sqlalchemy import func, select

from kefu.customers import search
from kefu.customers.demo_data import seed_demo_customers
from kefu.customers.models import Customer, Subscriber


def test_demo_customers_are_valid_idempotent_and_searchable(factory, session):
    admin = factory.user(admin=True)
    created = seed_demo_customers(session, admin=admin)
    assert created == 50
    assert seed_demo_customers(session, admin=admin) == 0
    assert session.scalar(select(func.count()).select_from(Subscriber)) >= 50
    actor = factory.actor(admin)
    group = session.scalar(select(Customer).where(Customer.code == "KH2026E003"))
    assert group.parent is not None and group.parent.parent is not None  # ship → fleet → group
    ouyang = search.search(session, actor, "ouyang")
    assert ouyang and ouyang[0].name.startswith("欧阳")
    shared = [
        p.e164
        for c in session.scalars(select(Customer).where(Customer.code == "KH2026P006"))
        for p in c.phones
    ]
    assert len(search.find_by_phone(session, shared[-1])) == 2
