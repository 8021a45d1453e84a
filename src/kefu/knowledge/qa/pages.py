"""Question-and-answer pages (问题解答, KB-8): the boxes (my questions, frequent questions, and for
answerers unanswered and all) with the ask form, and one question with what its reader may do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from kefu.core.errors import KefuError
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.knowledge import access
from kefu.knowledge import page_common as pc
from kefu.knowledge.labels import QUESTION_STATUS
from kefu.knowledge.permissions import ANSWER, ASK
from kefu.knowledge.qa import service
from kefu.knowledge.qa.models import Question, QuestionStatus
from kefu.knowledge.views import Names
from kefu.web.deps import Requires, SessionDep
from kefu.web.templating import render

router = APIRouter(prefix="/knowledge/questions", include_in_schema=False)
Anyone = Requires(ASK, ANSWER)
BOX_LABELS = {
    "mine": lazy("My questions"),
    "faq": lazy("Frequent questions"),
    "open": lazy("Unanswered"),
    "all": lazy("All questions"),
}
STATUS = QUESTION_STATUS


def _boxes(actor: Actor) -> list[str]:
    boxes = ["mine", "faq"] if actor.can(ASK) else ["faq"]
    return boxes + (["open", "all"] if actor.can(ANSWER) else [])


def _list_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    box: str,
    text: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    boxes = _boxes(actor)
    box = box if box in boxes else boxes[0]
    total, rows = service.listing(session, actor, box=box, text=text, limit=100)
    context = {
        "box": box,
        "boxes": [(b, BOX_LABELS[b]) for b in boxes],
        "q": text,
        "total": total,
        "rows": rows,
        "askers": Names(session).users(r.asker_id for r in rows),
        "STATUS": STATUS,
        "categories": pc.category_options(session),
        "errors": errors or {},
        "values": values or {},
    }
    return render(request, "knowledge/knowledge/questions.html", context, status_code=status)


@router.get("")
def questions(request: Request, session: SessionDep, actor: Anyone, box: str = "", q: str = "") -> Response:
    default = "open" if actor.can(ANSWER) else "mine"
    return _list_page(request, session, actor, box=box or default, text=q)


@router.post("")
def ask(request: Request, session: SessionDep, actor: Requires(ASK), form: pc.FormDep) -> Response:
    try:
        question = service.ask(
            session,
            actor=actor,
            title=pc.text(form, "title"),
            body=pc.text(form, "body"),
            category_id=pc.text(form, "category_id") or None,
        )
    except KefuError as exc:
        if not pc.shown_again(exc):
            raise
        errors = pc.messages(session, exc)
        return _list_page(
            request, session, actor, box="mine", errors=errors, values=pc.values(form), status=exc.status_code
        )
    return RedirectResponse(f"/knowledge/questions/{question.id}", status_code=303)


def _question_page(
    request: Request,
    session: Session,
    actor: Actor,
    question: Question,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    session.flush()
    session.refresh(question)
    names = Names(session)
    mine = question.asker_id == actor.user.id
    context = {
        "question": question,
        "people": names.users([question.asker_id, question.answered_by_id]),
        "directory": names.directory(question.category_id),
        "article": service.linked_article(session, question),
        "can_edit": mine and actor.can(ASK) and question.status is QuestionStatus.OPEN,
        "can_delete": actor.can(ANSWER) or (mine and actor.can(ASK) and not question.faq),
        "can_answer": actor.can(ANSWER),
        "article_categories": pc.category_options(session, access.maintainable_category_ids(session, actor)),
        "categories": pc.category_options(session),
        "STATUS": STATUS,
        "errors": errors or {},
        "values": values or {},
    }
    return render(request, "knowledge/knowledge/question.html", context, status_code=status)


@router.get("/{question_id}")
def question_page(request: Request, session: SessionDep, actor: Anyone, question_id: int) -> Response:
    return _question_page(request, session, actor, service.load(session, actor, question_id))


def _act(
    request: Request,
    session: Session,
    actor: Actor,
    question_id: int,
    form: Any,
    step: Any,
    *,
    done: str | Callable[[Any], str] | None = None,
) -> Response:
    question = service.load(session, actor, question_id)
    try:
        result = step(question)
    except KefuError as exc:
        if not pc.shown_again(exc):
            raise
        errors = pc.messages(session, exc)
        question = service.load(session, actor, question_id)
        return _question_page(
            request, session, actor, question, errors=errors, values=pc.values(form), status=exc.status_code
        )
    target = done(result) if callable(done) else done
    return RedirectResponse(target or f"/knowledge/questions/{question_id}", status_code=303)


@router.post("/{question_id}/edit")
def edit(
    request: Request, session: SessionDep, actor: Requires(ASK), question_id: int, form: pc.FormDep
) -> Response:
    return _act(
        request,
        session,
        actor,
        question_id,
        form,
        lambda q: service.edit(
            session,
            actor=actor,
            question=q,
            expected_version=pc.lock_version(form),
            title=pc.text(form, "title"),
            body=pc.text(form, "body"),
            category_id=pc.text(form, "category_id") or None,
        ),
    )


@router.post("/{question_id}/delete")
def delete(
    request: Request, session: SessionDep, actor: Anyone, question_id: int, form: pc.FormDep
) -> Response:
    return _act(
        request,
        session,
        actor,
        question_id,
        form,
        lambda q: service.delete(session, actor=actor, question=q),
        done="/knowledge/questions",
    )


@router.post("/{question_id}/answer")
def answer(
    request: Request, session: SessionDep, actor: Requires(ANSWER), question_id: int, form: pc.FormDep
) -> Response:
    return _act(
        request,
        session,
        actor,
        question_id,
        form,
        lambda q: service.answer(
            session,
            actor=actor,
            question=q,
            expected_version=pc.lock_version(form),
            text=pc.text(form, "answer"),
        ),
    )


@router.post("/{question_id}/faq")
def faq(
    request: Request, session: SessionDep, actor: Requires(ANSWER), question_id: int, form: pc.FormDep
) -> Response:
    return _act(
        request,
        session,
        actor,
        question_id,
        form,
        lambda q: service.set_faq(
            session,
            actor=actor,
            question=q,
            expected_version=pc.lock_version(form),
            faq=pc.text(form, "faq") == "1",
        ),
    )


@router.post("/{question_id}/article")
def to_article(
    request: Request, session: SessionDep, actor: Requires(ANSWER), question_id: int, form: pc.FormDep
) -> Response:
    return _act(
        request,
        session,
        actor,
        question_id,
        form,
        lambda q: service.to_article(
            session, actor=actor, question=q, category_id=pc.text(form, "category_id")
        ),
        done=lambda article: f"/knowledge/manage/{article.id}/edit",
    )
