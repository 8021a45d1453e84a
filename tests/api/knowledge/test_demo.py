"""The demo knowledge base seeds through the services and is idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from kefu.knowledge import demo
from kefu.knowledge.models import Article, ArticleStatus
from kefu.knowledge.qa.models import Question


def test_demo_knowledge_seeds_once(kb, factory, session):
    dept = factory.department("知识管理组")
    users = {
        "kbeditor01": factory.user(demo.ROLE_PERMISSIONS["kb_editor"], department=dept),
        "agent01": factory.user(demo.ROLE_PERMISSIONS["agent"], department=dept),
    }
    admin = factory.user(admin=True)
    # The fixture made categories already; the demo seeds into an empty knowledge base only.
    demo.seed(session, admin=admin, users=users, maintaining_department=dept)
    assert session.scalar(select(func.count()).select_from(Article)) == 0
    session.execute(Article.__table__.delete())
    from kefu.knowledge.models import KnowledgeCategory

    for category in session.scalars(select(KnowledgeCategory).order_by(KnowledgeCategory.path.desc())):
        session.delete(category)
        session.flush()
    demo.seed(session, admin=admin, users=users, maintaining_department=dept)
    published = session.scalar(
        select(func.count()).select_from(Article).where(Article.status == ArticleStatus.PUBLISHED)
    )
    assert published == len(demo.ARTICLES)
    assert session.scalar(select(func.count()).select_from(Article).where(Article.hot.is_(True))) == 3
    assert session.scalar(select(func.count()).select_from(Question).where(Question.faq.is_(True))) == 1
    found = kb.search(q="智能卡", mode="keyword")
    assert found["total"] >= 2
    demo.seed(session, admin=admin, users=users, maintaining_department=dept)
    assert session.scalar(select(func.count()).select_from(Article)) == len(demo.ARTICLES)
