"""Permission catalogue entries of the knowledge base (知识库)."""

from kefu.core.i18n import lazy
from kefu.core.permissions import register

# Words shown in the role editor, declared so that they are extracted for translation.
OPERATION_WORDS = (lazy("review"), lazy("publish"), lazy("admin"), lazy("ask"), lazy("answer"))
AREA_WORDS = (lazy("knowledge"),)

# Articles: view = search and read published knowledge (知识检索); send = send an article to a
# customer by SMS or email (知识短信/邮件); edit = create and maintain articles in the categories the
# author's department may maintain (KB-6); review = approve or reject submitted versions (知识审核);
# publish = publish approved versions by hand or at a time, archive, revoke, hot flags; admin =
# maintain articles in every category regardless of the category's departments. The data scope
# (own / department / subtree / all, by the article's owning department) limits which unpublished
# articles and versions one sees, reviews and publishes.
register(
    "knowledge.article",
    "Knowledge articles",
    ("view", "send", "edit", "review", "publish", "admin"),
    area="knowledge",
    scoped=True,
)
# The category tree (知识分类): add, rename, move, delete, publish mode and maintaining departments.
register("knowledge.categories", "Knowledge categories", ("edit",), area="knowledge")
# Questions and answers (问题解答): ask = staff ask and manage their own questions; answer = answer,
# edit answers, set / unset FAQ, delete any question, turn an FAQ into an article draft.
register("knowledge.qa", "Questions and answers", ("ask", "answer"), area="knowledge")

FUNCTION = "knowledge.article"
VIEW, SEND, EDIT, REVIEW, PUBLISH, ADMIN = (
    f"{FUNCTION}.{op}" for op in ("view", "send", "edit", "review", "publish", "admin")
)
CATEGORIES = "knowledge.categories.edit"
ASK, ANSWER = "knowledge.qa.ask", "knowledge.qa.answer"
# Rights that open the management screens (知识内容管理): anything beyond reading.
MANAGE_ANY = (EDIT, REVIEW, PUBLISH, ADMIN)
ANY_KNOWLEDGE = (VIEW, SEND, *MANAGE_ANY, CATEGORIES)
