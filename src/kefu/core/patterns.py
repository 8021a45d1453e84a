"""Regular expressions that administrators type (form elements, subscriber attributes): refused
when invalid or when they could backtrack for long, since Python's `re` has no timeout."""

from __future__ import annotations

import re
import re._parser as sre_parse
import warnings
from typing import Any

from kefu.core.i18n import lazy

# Upper bound of the backtracking a pattern may need on the longest text.
PATTERN_BUDGET = 2 * 10**8
BAD_PATTERN = lazy("The pattern is not a valid regular expression: %(detail)s")
COMPLEX_PATTERN = lazy("The pattern is too complex to check quickly")


def pattern_problem(pattern: str, *, longest: int = 500) -> tuple[str, dict[str, Any]] | None:
    """Why `pattern` is refused: invalid, or able to backtrack for long (Python's `re` has no timeout).

    Refused: back-references, a variable repetition or an alternation inside a repetition (the
    exponential cases) and sequences of variable repetitions whose combined range on a text of
    `longest` characters exceeds PATTERN_BUDGET (the polynomial ones: three `.*` pass, four do not).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            re.compile(pattern)
            parsed = sre_parse.parse(pattern)
    except (re.error, OverflowError, RecursionError, ValueError) as exc:
        return BAD_PATTERN, {"detail": str(getattr(exc, "msg", exc))}
    cost = 1

    def walk(items: Any, in_repeat: bool) -> bool:
        nonlocal cost
        for op, arg in items:
            name = str(op)
            if name.startswith("GROUPREF"):
                return False
            if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                low, high, body = arg
                if high != low:
                    if in_repeat:
                        return False
                    cost *= max(1, min(high, longest) - low + 1)
                    if cost > PATTERN_BUDGET:
                        return False
                if not walk(body, in_repeat or high > 1):
                    return False
            elif name == "BRANCH":
                if in_repeat or not all(walk(branch, in_repeat) for branch in arg[1]):
                    return False
            elif name in ("SUBPATTERN", "ASSERT", "ASSERT_NOT", "ATOMIC_GROUP") and not walk(
                arg[-1] if isinstance(arg, tuple) else arg, in_repeat
            ):
                return False
        return True

    return None if walk(parsed, False) else (COMPLEX_PATTERN, {})
