"""Which actions an actor may take on an article now — what the pages offer and the API reports.
The services check the same rules again when an action is taken."""

from __future__ import annotations

from sqlalchemy.orm import Session

from kefu.core.permissions import Actor
from kefu.knowledge import access, common
from kefu.knowledge.lifecycle import ARTICLE_MOVES, SELF_REVIEW, VERSION_MOVES
from kefu.knowledge.models import EDITABLE_VERSION, Article, ArticleStatus, ArticleVersion
from kefu.knowledge.permissions import PUBLISH, REVIEW
from kefu.org.config import parameters as params

ORDER = (
    "edit",
    "submit",
    "withdraw",
    "discard",
    "approve",
    "reject",
    "publish",
    "schedule",
    "hot",
    "move",
    "revoke",
    "archive",
)


def available(
    session: Session, actor: Actor, article: Article, version: ArticleVersion | None = None
) -> list[str]:
    """The action codes, in display order."""
    if article.status is ArticleStatus.ARCHIVED:
        return []
    open_version = version if version is not None else common.open_version(session, article)
    found: set[str] = set()
    if access.may_maintain(session, actor, article.category):
        found.add("move")
        if open_version is None or open_version.status in EDITABLE_VERSION:
            found.add("edit")
        if open_version is not None and open_version.status in EDITABLE_VERSION:
            found.update(("submit", "discard"))
        if open_version is not None and open_version.status in VERSION_MOVES["withdraw"][0]:
            found.add("withdraw")
    if open_version is not None and open_version.status in VERSION_MOVES["approve"][0]:
        own = open_version.author_id == actor.user.id and not params.get(session, SELF_REVIEW)
        if actor.can(REVIEW) and access.in_scope(session, actor, article, REVIEW) and not own:
            found.update(("approve", "reject"))
    if actor.can(PUBLISH) and access.in_scope(session, actor, article, PUBLISH):
        if open_version is not None and open_version.status in VERSION_MOVES["publish"][0]:
            found.update(("publish", "schedule"))
        if article.status in ARTICLE_MOVES["revoke"][0]:
            found.add("revoke")
        if article.status in ARTICLE_MOVES["archive"][0]:
            found.add("archive")
        if article.status is not ArticleStatus.DRAFT:
            found.add("hot")
    return [code for code in ORDER if code in found]
