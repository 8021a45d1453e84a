"""The review queue page (知识审核, KB-4): versions waiting for review in my scope, oldest first, and
approved versions waiting to be published by hand. A row opens the article, where its changes against
the live version are shown beside the approve / reject form."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kefu.knowledge import page_common as pc
from kefu.knowledge import views
from kefu.knowledge.permissions import PUBLISH, REVIEW
from kefu.web.deps import Requires, SessionDep
from kefu.web.templating import render

router = APIRouter(prefix="/knowledge/review", include_in_schema=False)


@router.get("")
def review_queue(
    request: Request, session: SessionDep, actor: Requires(REVIEW, PUBLISH), box: str = ""
) -> Response:
    boxes = [b for b, perm in (("review", REVIEW), ("publish", PUBLISH)) if actor.can(perm)]
    box = box if box in boxes else boxes[0]
    context = {
        "box": box,
        "boxes": boxes,
        "rows": views.queue(session, actor, box=box),
        "counts": views.queue_counts(session, actor),
        **pc.labels(),
    }
    return render(request, "knowledge/knowledge/review.html", context)
