"""Domain errors. Services raise these; the web layer maps them to HTTP answers and form messages."""

from __future__ import annotations

from collections.abc import Callable


class KefuError(Exception):
    """Base of every expected, user-facing error."""

    status_code = 400
    code = "error"

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params

    def render(self, gettext: Callable[[str], str] = lambda s: s) -> str:
        """The message in the reader's language (msgids are English, values filled in after)."""
        text = gettext(self.message)
        return text % self.params if self.params else text


class NotFound(KefuError):
    """Missing — or hidden by permission or data scope; callers cannot tell the two apart."""

    status_code = 404
    code = "not_found"

    def __init__(self, message: str = "Not found", **params: object) -> None:
        super().__init__(message, **params)


class NotAuthenticated(KefuError):
    status_code = 401
    code = "not_authenticated"

    def __init__(self, message: str = "Login required", **params: object) -> None:
        super().__init__(message, **params)


class PermissionDenied(KefuError):
    status_code = 403
    code = "permission_denied"

    def __init__(
        self, message: str = "You do not have permission for this operation", **params: object
    ) -> None:
        super().__init__(message, **params)


class Conflict(KefuError):
    """The object changed meanwhile, or the operation clashes with existing data."""

    status_code = 409
    code = "conflict"


class FieldError(KefuError):
    """Bad input on one field: 422 naming the field on the API, the message beside it on forms."""

    status_code = 422
    code = "invalid"

    def __init__(self, field: str, message: str, **params: object) -> None:
        super().__init__(message, **params)
        self.field = field

    def as_detail(self, gettext: Callable[[str], str] = lambda s: s) -> list[dict[str, object]]:
        return [{"loc": ["body", self.field], "msg": self.render(gettext), "type": "value_error"}]


class FieldErrors(FieldError):
    """Bad input on several fields at once (a whole form): every message is reported, the first
    field is `field` so callers that handle one `FieldError` still work."""

    def __init__(self, errors: list[FieldError]) -> None:
        if not errors:
            raise ValueError("FieldErrors needs at least one error")
        first = errors[0]
        super().__init__(first.field, first.message, **first.params)
        self.errors = list(errors)

    def as_detail(self, gettext: Callable[[str], str] = lambda s: s) -> list[dict[str, object]]:
        return [item for error in self.errors for item in error.as_detail(gettext)]

    def by_field(self, gettext: Callable[[str], str] = lambda s: s) -> dict[str, str]:
        """`{field: message}` for re-showing a form (the first message of each field)."""
        found: dict[str, str] = {}
        for error in self.errors:
            found.setdefault(error.field, error.render(gettext))
        return found
