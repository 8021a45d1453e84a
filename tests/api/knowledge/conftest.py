"""Fixtures for the knowledge base: an organisation with a network department (which maintains the
cable-TV categories), a billing department, authors, a reviewer, a publisher, agents and a category
administrator; a category tree with automatic and manual publishing; the business-attribute
dictionary and a business type; and an HTTP helper."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from kefu.knowledge import clicks
from kefu.knowledge.models import KnowledgeCategory, KnowledgeCategoryEditor, PublishMode
from kefu.org.config.models import DictItem, DictType
from kefu.org.models import DataScope, Department
from kefu.tickets.models import BusinessCategory
from tests.support import Factory, Login

API = "/api/v1/knowledge"
BODY = "<p>机顶盒黑屏时，请客户先检查信号线是否松动。</p><p>再重新插拔智能卡并重启机顶盒。</p>"


@dataclass
class Kb:
    factory: Factory
    session: Session
    client: TestClient
    network: Department
    billing: Department
    cable: KnowledgeCategory  # maintained by the network department, publishes automatically
    stb: KnowledgeCategory  # under cable: inherits the network department
    broadband: KnowledgeCategory  # open to every author, automatic
    tariffs: KnowledgeCategory  # open, publish by hand
    fault: BusinessCategory
    author: Login  # network department, scope own
    author2: Login  # network department, scope own
    outsider: Login  # billing department author
    reviewer: Login
    publisher: Login
    agent: Login
    admin: Login  # knowledge categories

    def call(self, method: str, path: str, who: Login, body: Any = None, *, expect: int = 200) -> Any:
        r = self.client.request(method, API + path, json=body, headers=who.headers)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def create(self, who: Login | None = None, *, expect: int = 201, **body: Any) -> Any:
        data = {
            "category_id": self.stb.id,
            "title": "机顶盒黑屏的处理方法",
            "summary": "客户反映机顶盒黑屏、无信号时的排查步骤",
            "body_html": BODY,
            "keywords": "机顶盒 黑屏 无信号",
            "business_category_id": self.fault.id,
            "business_attrs": ["troubleshooting"],
            "audience": "public",
            **body,
        }
        return self.call("POST", "/articles", who or self.author, data, expect=expect)

    def act(
        self, article: dict, action: str, who: Login, body: dict | None = None, *, expect: int = 200
    ) -> Any:
        payload = {"lock_version": article["lock_version"], **(body or {})}
        return self.call("POST", f"/articles/{article['id']}/{action}", who, payload, expect=expect)

    def save(self, article: dict, who: Login, *, expect: int = 200, **body: Any) -> Any:
        payload = {"lock_version": article["lock_version"], **body}
        return self.call("PATCH", f"/articles/{article['id']}/draft", who, payload, expect=expect)

    def get(self, article_id: int, who: Login, *, expect: int = 200) -> Any:
        return self.call("GET", f"/articles/{article_id}", who, expect=expect)

    def search(self, who: Login | None = None, **params: Any) -> Any:
        r = self.client.get(API + "/search", params=params, headers=(who or self.agent).headers)
        assert r.status_code == 200, r.text
        return r.json()

    def published(self, who: Login | None = None, *, seed_title: str = "机顶盒黑屏的处理方法") -> dict:
        """An article taken through review and automatic publishing."""
        article = self.create(title=seed_title)
        article = self.act(article, "submit", self.author)
        return self.act(article, "approve", self.reviewer)


def category(
    session: Session,
    name: str,
    *,
    parent: KnowledgeCategory | None = None,
    mode: PublishMode = PublishMode.AUTO,
    editors: tuple[Department, ...] = (),
) -> KnowledgeCategory:
    c = KnowledgeCategory(name=name, parent_id=parent.id if parent else None, publish_mode=mode)
    session.add(c)
    session.flush()
    c.path = (parent.path if parent else "/") + f"{c.id}/"
    c.editors = [KnowledgeCategoryEditor(department_id=d.id) for d in editors]
    session.flush()
    return c


AUTHOR = ["knowledge.article.view", "knowledge.article.edit", "knowledge.qa.ask"]


@pytest.fixture
def kb(factory: Factory, session: Session, client: TestClient) -> Kb:
    clicks.use(clicks.LocalClicks())
    attrs = DictType(
        code="knowledge_attribute",
        name="业务属性",
        items=[
            DictItem(code="troubleshooting", label="故障处理", sort=1),
            DictItem(code="tariff", label="资费", sort=2),
            DictItem(code="procedure", label="办理流程", sort=3),
        ],
    )
    session.add(attrs)
    fault = BusinessCategory(code="kb_fault", name="故障申告")
    session.add(fault)
    session.flush()
    fault.path = f"/{fault.id}/"
    center = factory.department("客服中心")
    network = factory.department("网络部", parent=center)
    billing = factory.department("营业部", parent=center)
    cable = category(session, "有线电视", editors=(network,))
    stb = category(session, "机顶盒故障", parent=cable)
    broadband = category(session, "宽带")
    tariffs = category(session, "资费政策", mode=PublishMode.MANUAL)
    login = factory.token_login
    return Kb(
        factory,
        session,
        client,
        network,
        billing,
        cable,
        stb,
        broadband,
        tariffs,
        fault,
        author=login(factory.user(AUTHOR, scope=DataScope.OWN, department=network)),
        author2=login(factory.user(AUTHOR, scope=DataScope.OWN, department=network)),
        outsider=login(factory.user(AUTHOR, scope=DataScope.OWN, department=billing)),
        reviewer=login(
            factory.user(["knowledge.article.view", "knowledge.article.review"], department=center)
        ),
        publisher=login(
            factory.user(["knowledge.article.view", "knowledge.article.publish"], department=center)
        ),
        agent=login(
            factory.user(
                ["knowledge.article.view", "knowledge.article.send", "knowledge.qa.ask"], department=center
            )
        ),
        admin=login(
            factory.user(["knowledge.categories.edit", "knowledge.qa.answer", "knowledge.article.admin"])
        ),
    )
