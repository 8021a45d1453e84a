"""Words people see for the states of knowledge, in one place for the services' messages and the
pages (English msgids; the Chinese is in `knowledge.po`)."""

from __future__ import annotations

from kefu.core.i18n import lazy
from kefu.knowledge.models import ArticleStatus, Audience, PublishMode, VersionStatus
from kefu.knowledge.qa.models import QuestionStatus

# state → (label, Bootstrap colour)
ARTICLE_STATUS = {
    ArticleStatus.DRAFT: (lazy("Not yet published"), "secondary"),
    ArticleStatus.PUBLISHED: (lazy("Live"), "success"),
    ArticleStatus.EXPIRED: (lazy("Expired"), "warning"),
    ArticleStatus.REVOKED: (lazy("Revoked from use"), "danger"),
    ArticleStatus.ARCHIVED: (lazy("Archived"), "dark"),
}
VERSION_STATUS = {
    VersionStatus.DRAFT: (lazy("Draft"), "secondary"),
    VersionStatus.PENDING: (lazy("Waiting for review"), "info"),
    VersionStatus.REJECTED: (lazy("Returned"), "danger"),
    VersionStatus.APPROVED: (lazy("Approved, not yet published"), "primary"),
    VersionStatus.PUBLISHED: (lazy("Live"), "success"),
    VersionStatus.SUPERSEDED: (lazy("Superseded"), "light"),
    VersionStatus.CANCELLED: (lazy("Cancelled"), "light"),
}
QUESTION_STATUS = {
    QuestionStatus.OPEN: (lazy("Waiting for an answer"), "warning"),
    QuestionStatus.ANSWERED: (lazy("Answered"), "success"),
}
AUDIENCE = {Audience.INTERNAL: lazy("Internal"), Audience.PUBLIC: lazy("Public")}
PUBLISH_MODE = {
    PublishMode.AUTO: lazy("Publish automatically on approval"),
    PublishMode.MANUAL: lazy("Publish by hand"),
}


def article_status(status: ArticleStatus) -> str:
    from kefu.core import i18n

    return i18n.gettext(ARTICLE_STATUS[status][0])


def version_status(status: VersionStatus) -> str:
    from kefu.core import i18n

    return i18n.gettext(VERSION_STATUS[status][0])


def question_status(status: QuestionStatus) -> str:
    from kefu.core import i18n

    return i18n.gettext(QUESTION_STATUS[status][0])
