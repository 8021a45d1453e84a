"""Questions and answers (问题解答, KB-8).

Staff (`knowledge.qa.ask`) ask, edit their question until it is answered, delete their own questions
(not once they are a frequent question), and follow whether they were answered. Answerers
(`knowledge.qa.answer`) answer and edit answers, set or unset frequent questions (常见问题), delete
any question, and turn an answered question into an article draft that links back to it.

Visibility: one's own questions; frequent questions to everyone who may ask; all to answerers. Others'
questions do not exist (404).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kefu.audit import service as audit
from kefu.core import clock, i18n, richtext
from kefu.core.errors import Conflict, FieldError, FieldErrors, NotFound, PermissionDenied
from kefu.core.permissions import Actor
from kefu.knowledge import articles, content, labels
from kefu.knowledge.models import Article, KnowledgeCategory
from kefu.knowledge.permissions import ANSWER, ASK
from kefu.knowledge.qa.models import Question, QuestionStatus
from kefu.notices.service import notify

FUNCTION = "knowledge.qa"
TITLE_MAX, BODY_MAX, ANSWER_MAX = 200, 4000, 20000
BOXES = ("mine", "faq", "open", "all")


def visible_condition(actor: Actor) -> Any:
    if actor.can(ANSWER):
        return Question.id.is_not(None)
    return or_(Question.asker_id == actor.user.id, Question.faq.is_(True))


def load(session: Session, actor: Actor, question_id: int) -> Question:
    found = session.scalars(
        select(Question).where(Question.id == question_id, visible_condition(actor))
    ).first()
    if found is None:
        raise NotFound()
    return found


def listing(
    session: Session, actor: Actor, *, box: str, text: str = "", limit: int = 50, offset: int = 0
) -> tuple[int, list[Question]]:
    """A box of questions, newest first: mine, faq (frequent questions), open (unanswered), all."""
    if box not in BOXES:
        raise FieldError("box", "Choose one of the offered values")
    stmt: Select[Any] = select(Question).where(visible_condition(actor))
    if box == "mine":
        stmt = stmt.where(Question.asker_id == actor.user.id)
    elif box == "faq":
        stmt = stmt.where(Question.faq.is_(True))
    elif box == "open":
        stmt = stmt.where(Question.status == QuestionStatus.OPEN)
    if text.strip():
        pattern = "%" + text.strip().replace("%", "").replace("_", "") + "%"
        stmt = stmt.where(
            or_(Question.title.like(pattern), Question.body.like(pattern), Question.answer.like(pattern))
        )
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    order = (Question.answered_at.desc(), Question.id.desc()) if box == "faq" else (Question.id.desc(),)
    return total, list(session.scalars(stmt.order_by(*order).limit(limit).offset(offset)))


def _category(session: Session, value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        key = int(value)
    except (TypeError, ValueError):
        key = 0
    if key <= 0 or session.get(KnowledgeCategory, key) is None:
        raise FieldError("category_id", "No such category")
    return key


def _clean(session: Session, title: Any, body: Any, category_id: Any) -> tuple[str, str, int | None]:
    errors: list[FieldError] = []
    values: list[Any] = []
    for fn in (
        lambda: content.text("title", title, TITLE_MAX, required=True),
        lambda: content.text("body", body, BODY_MAX),
        lambda: _category(session, category_id),
    ):
        try:
            values.append(fn())
        except FieldError as exc:
            errors.append(exc)
    if errors:
        raise FieldErrors(errors)
    return values[0], values[1], values[2]


def _begin(session: Session, question: Question, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != question.lock_version:
        raise Conflict(
            "The question was changed by someone else meanwhile (now: %(status)s); reload it",
            status=labels.question_status(question.status),
        )
    question.updated_at = clock.now()
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("The question was changed by someone else meanwhile; reload it") from None


def _audit(session: Session, actor: Actor, question: Question, action: str, **kw: Any) -> None:
    audit.record(
        session, actor=actor, action=f"knowledge.question.{action}", function=FUNCTION, target=question, **kw
    )


def _tell(session: Session, actor: Actor, question: Question, title: str) -> None:
    if question.asker_id is not None and question.asker_id != actor.user.id:
        notify(
            session,
            user_ids=[question.asker_id],
            title=title % {"title": question.title[:80]},
            body=question.answer[:200],
            link=f"/knowledge/questions/{question.id}",
            kind="knowledge",
            target_type="knowledge_question",
            target_id=str(question.id),
            sender=actor,
        )


def ask(session: Session, *, actor: Actor, title: Any, body: Any = "", category_id: Any = None) -> Question:
    """Ask a question (提问)."""
    if not actor.can(ASK):
        raise PermissionDenied()
    clean_title, clean_body, category = _clean(session, title, body, category_id)
    now = clock.now()
    question = Question(
        title=clean_title,
        body=clean_body,
        category_id=category,
        status=QuestionStatus.OPEN,
        asker_id=actor.user.id,
        asker_department_id=actor.user.department_id,
        created_at=now,
        updated_at=now,
    )
    session.add(question)
    session.flush()
    _audit(session, actor, question, "ask", summary=clean_title)
    return question


def edit(
    session: Session,
    *,
    actor: Actor,
    question: Question,
    expected_version: int | None,
    title: Any,
    body: Any = "",
    category_id: Any = None,
) -> Question:
    """Change my own question while it waits for an answer."""
    if question.asker_id != actor.user.id or not actor.can(ASK):
        raise PermissionDenied("Only the person who asked may change the question")
    if question.status is not QuestionStatus.OPEN:
        raise Conflict("The question is answered; it can no longer be changed")
    clean_title, clean_body, category = _clean(session, title, body, category_id)
    _begin(session, question, expected_version)
    before = audit.snapshot(question, ("title", "body", "category_id"))
    question.title, question.body, question.category_id = clean_title, clean_body, category
    old, new = audit.diff(before, audit.snapshot(question, ("title", "body", "category_id")))
    _audit(session, actor, question, "edit", before=old, after=new)
    return question


def delete(session: Session, *, actor: Actor, question: Question) -> None:
    """Delete my own question (not a frequent question), or — as an answerer — any question."""
    if not actor.can(ANSWER):
        if question.asker_id != actor.user.id or not actor.can(ASK):
            raise PermissionDenied("Only the person who asked may delete the question")
        if question.faq:
            raise Conflict("The question is a frequent question; ask an answerer to remove it")
    _audit(session, actor, question, "delete", before=audit.snapshot(question, ("title", "status", "faq")))
    session.delete(question)
    session.flush()


def answer(
    session: Session, *, actor: Actor, question: Question, expected_version: int | None, text: Any
) -> Question:
    """Answer the question, or change its answer; the asker is told."""
    if not actor.can(ANSWER):
        raise PermissionDenied()
    clean = content.text("answer", text, ANSWER_MAX, required=True)
    _begin(session, question, expected_version)
    first = question.status is QuestionStatus.OPEN
    before = question.answer
    question.answer = clean
    question.status = QuestionStatus.ANSWERED
    question.answered_by_id = actor.user.id
    question.answered_at = clock.now()
    _audit(
        session,
        actor,
        question,
        "answer" if first else "edit_answer",
        before={"answer": before},
        after={"answer": clean},
    )
    title = (
        i18n.gettext("Your question %(title)s was answered")
        if first
        else i18n.gettext("The answer to your question %(title)s was changed")
    )
    _tell(session, actor, question, title)
    return question


def set_faq(
    session: Session, *, actor: Actor, question: Question, expected_version: int | None, faq: bool
) -> Question:
    """Set or unset an answered question as a frequent question (常见问题)."""
    if not actor.can(ANSWER):
        raise PermissionDenied()
    if faq and question.status is not QuestionStatus.ANSWERED:
        raise Conflict("Only an answered question can be a frequent question")
    _begin(session, question, expected_version)
    if question.faq != faq:
        question.faq = faq
        _audit(
            session, actor, question, "faq" if faq else "unfaq", before={"faq": not faq}, after={"faq": faq}
        )
    return question


def linked_article(session: Session, question: Question) -> Article | None:
    return session.scalars(select(Article).where(Article.source_question_id == question.id)).first()


def to_article(session: Session, *, actor: Actor, question: Question, category_id: Any) -> Article:
    """Start an article draft from an answered question: the question as title and summary, the
    answer as body; the article links back to the question."""
    if not actor.can(ANSWER):
        raise PermissionDenied()
    if question.status is not QuestionStatus.ANSWERED:
        raise Conflict("Only an answered question can become an article")
    existing = linked_article(session, question)
    if existing is not None:
        raise Conflict(
            "An article was already written from this question (%(number)s)", number=existing.number
        )
    summary = (question.body or question.title)[: content.SUMMARY_MAX]
    article = articles.create_article(
        session,
        actor=actor,
        category_id=category_id,
        source_question_id=question.id,
        title=question.title,
        summary=summary,
        body_html=richtext.from_plain(question.answer),
        change_note=i18n.gettext("Written from a frequent question"),
    )
    _audit(session, actor, question, "to_article", summary=article.number)
    return article
