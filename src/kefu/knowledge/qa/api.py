"""Questions and answers over HTTP (问题解答)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from kefu.knowledge.api import detail
from kefu.knowledge.permissions import ANSWER, ASK
from kefu.knowledge.qa import service
from kefu.knowledge.qa.models import Question
from kefu.knowledge.qa.schemas import (
    AnswerBody,
    FaqBody,
    QuestionAsk,
    QuestionEdit,
    QuestionPage,
    QuestionRead,
    ToArticleBody,
)
from kefu.knowledge.schemas import ArticleDetail
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/knowledge/questions", tags=["knowledge"])

Anyone = Requires(ASK, ANSWER)


def read(session: Session, question: Question) -> QuestionRead:
    session.flush()
    out = QuestionRead.model_validate(question)
    linked = service.linked_article(session, question)
    out.article_id = linked.id if linked is not None else None
    return out


@router.get("", response_model=QuestionPage)
def list_questions(
    session: SessionDep,
    actor: Anyone,
    box: Literal["mine", "faq", "open", "all"] = "mine",
    q: str = "",
    limit: int = Query(default=50, ge=1, le=200),
    offset: int = Query(default=0, ge=0),
) -> QuestionPage:
    """My questions, frequent questions (常见问题), or — for answerers — unanswered and all."""
    total, rows = service.listing(session, actor, box=box, text=q, limit=limit, offset=offset)
    return QuestionPage(total=total, items=[QuestionRead.model_validate(r) for r in rows])


@router.post("", response_model=QuestionRead, status_code=201)
def ask(session: SessionDep, actor: Requires(ASK), body: QuestionAsk) -> QuestionRead:
    """Ask a question (提问)."""
    return read(
        session,
        service.ask(session, actor=actor, title=body.title, body=body.body, category_id=body.category_id),
    )


@router.get("/{question_id}", response_model=QuestionRead)
def get_question(session: SessionDep, actor: Anyone, question_id: int) -> QuestionRead:
    return read(session, service.load(session, actor, question_id))


@router.patch("/{question_id}", response_model=QuestionRead)
def edit(session: SessionDep, actor: Requires(ASK), question_id: int, body: QuestionEdit) -> QuestionRead:
    """Change my question while it waits for an answer."""
    question = service.load(session, actor, question_id)
    service.edit(
        session,
        actor=actor,
        question=question,
        expected_version=body.lock_version,
        title=body.title,
        body=body.body,
        category_id=body.category_id,
    )
    return read(session, question)


@router.delete("/{question_id}", status_code=204)
def delete(session: SessionDep, actor: Anyone, question_id: int) -> Response:
    """Delete my question (answerers: any question)."""
    service.delete(session, actor=actor, question=service.load(session, actor, question_id))
    return Response(status_code=204)


@router.post("/{question_id}/answer", response_model=QuestionRead)
def answer(session: SessionDep, actor: Requires(ANSWER), question_id: int, body: AnswerBody) -> QuestionRead:
    """Answer, or change the answer; the asker is told."""
    question = service.load(session, actor, question_id)
    service.answer(
        session, actor=actor, question=question, expected_version=body.lock_version, text=body.answer
    )
    return read(session, question)


@router.post("/{question_id}/faq", response_model=QuestionRead)
def faq(session: SessionDep, actor: Requires(ANSWER), question_id: int, body: FaqBody) -> QuestionRead:
    """Set or unset as a frequent question (常见问题)."""
    question = service.load(session, actor, question_id)
    service.set_faq(session, actor=actor, question=question, expected_version=body.lock_version, faq=body.faq)
    return read(session, question)


@router.post("/{question_id}/article", response_model=ArticleDetail, status_code=201)
def to_article(
    session: SessionDep, actor: Requires(ANSWER), question_id: int, body: ToArticleBody
) -> ArticleDetail:
    """Start an article draft from the answered question (it links back)."""
    question = service.load(session, actor, question_id)
    article = service.to_article(session, actor=actor, question=question, category_id=body.category_id)
    return detail(session, actor, article)
