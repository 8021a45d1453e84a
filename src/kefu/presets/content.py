"""The preset sections that fill the knowledge base and the customer profile."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from kefu.customers import presets as subscriber_kinds
from kefu.customers import service as customers
from kefu.customers import subscribers
from kefu.customers.models import Customer
from kefu.knowledge import articles, categories, lifecycle
from kefu.knowledge.models import Article, KnowledgeCategory, PublishMode

if TYPE_CHECKING:
    from kefu.presets.loader import Loader


def load_knowledge(loader: Loader) -> None:
    """Knowledge categories and articles, written by the author and reviewed and published by the
    reviewer through the knowledge lifecycle (so search finds them)."""
    spec = loader.preset.knowledge
    if spec is None:
        return
    author = loader.actor_of(spec.author, "knowledge.author")
    reviewer = loader.actor_of(spec.reviewer, "knowledge.reviewer")
    keys: dict[str, int] = {}
    for i, cat in enumerate(spec.categories):
        parent_id = keys.get(cat.parent) if cat.parent else None
        found = loader.session.scalar(
            select(KnowledgeCategory.id).where(
                KnowledgeCategory.name == cat.name,
                KnowledgeCategory.parent_id.is_(None)
                if parent_id is None
                else KnowledgeCategory.parent_id == parent_id,
            )
        )
        if found is None:
            editors = [
                loader.department(code, f"knowledge.categories[{i}].editors[{j}]")
                for j, code in enumerate(cat.editors)
            ]
            with loader.at(f"knowledge.categories[{i}]"):
                found = categories.create_category(
                    loader.session,
                    actor=reviewer,
                    name=cat.name,
                    parent_id=parent_id,
                    publish_mode=PublishMode(cat.publish_mode),
                    editor_department_ids=editors,
                ).id
            loader.count("knowledge_categories")
        keys[cat.key] = found
    for i, art in enumerate(spec.articles):
        category_id = keys[art.category]
        exists = loader.session.scalar(
            select(Article.id).where(Article.category_id == category_id, Article.title == art.title)
        )
        if exists is not None:
            continue
        with loader.at(f"knowledge.articles[{i}]"):
            article = articles.create_article(
                loader.session,
                actor=author,
                category_id=category_id,
                title=art.title,
                summary=art.summary,
                keywords=art.keywords,
                body_html=art.body,
                business_category_id=loader.categories.get(art.business_type),
                business_attrs=art.attributes,
                audience=art.audience,
            )
            lifecycle.submit(loader.session, actor=author, article=article, expected_version=None)
            lifecycle.approve(
                loader.session, actor=reviewer, article=article, expected_version=None, comment="同意发布"
            )
            if article.status.value != "published":  # a category that publishes by hand
                lifecycle.publish(loader.session, actor=reviewer, article=article, expected_version=None)
            if art.hot:
                articles.set_hot(
                    loader.session, actor=reviewer, article=article, expected_version=None, hot=True
                )
        loader.count("articles")


def load_customers(loader: Loader) -> None:
    """Customers with an account and their subscribers (industry attributes checked by the kinds)."""
    if loader.preset.customers:
        subscriber_kinds.seed_default_kinds(loader.session)
    for i, spec in enumerate(loader.preset.customers):
        key = f"customers[{i}]"
        found = loader.session.scalar(select(Customer.id).where(Customer.code == spec.code))
        if found is None:
            data: dict[str, Any] = {
                "code": spec.code,
                "kind": spec.kind,
                "name": spec.name,
                "tier": spec.tier,
                "contact_person": spec.contact_person,
                "parent_id": loader.customers.get(spec.parent) if spec.parent else None,
                "phones": [{"number": number} for number in spec.phones],
                "emails": [{"address": address} for address in spec.emails],
                "addresses": [spec.address.model_dump()] if spec.address else [],
            }
            if spec.id_type:
                data.update(id_type=spec.id_type, id_number=spec.id_number)
            with loader.at(key):
                customer = customers.create(loader.session, actor=loader.actor, data=data)
            _add_subscribers(loader, i, customer)
            found = customer.id
            loader.count("customers")
        loader.customers[spec.code] = found


def _add_subscribers(loader: Loader, index: int, customer: Customer) -> None:
    spec = loader.preset.customers[index]
    if not spec.subscribers:
        return
    with loader.at(f"customers[{index}]"):
        account = subscribers.add_account(
            loader.session, actor=loader.actor, customer=customer, data={"account_no": f"ZH{spec.code}"}
        )
    for j, sub in enumerate(spec.subscribers):
        data: dict[str, Any] = {
            "kind": sub.kind,
            "service_number": sub.number,
            "account_id": account.id,
            "product": sub.product,
            "attributes": dict(sub.attributes),
        }
        if sub.opened_on:
            data["opened_on"] = date.fromisoformat(sub.opened_on).isoformat()
        with loader.at(f"customers[{index}].subscribers[{j}]"):
            subscribers.add_subscriber(loader.session, actor=loader.actor, customer=customer, data=data)
