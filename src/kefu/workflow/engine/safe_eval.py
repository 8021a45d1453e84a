"""The restricted expression language of flows: data, never code.

Conditions, timer expressions, completion conditions and loop cardinalities in a flow are written by
administrators (or imported from a file), so they are evaluated here instead of by Python's `eval`.

The language is a small subset of Python expressions:

- names of task data (not starting with `_`), literals (text, numbers, `True`/`False`/`None`),
  tuples, lists and sets of those;
- comparisons (`==`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `not in`, `is`, `is not`), `and`/`or`/`not`,
  `x if c else y`, arithmetic (`+ - * / // % **`), indexing and slicing (`items[0]`, `d["k"]`);
- `a.b` only as a key lookup in a mapping (`customer.level` means `customer["level"]`);
- calls of the functions in `FUNCTIONS` only, positional arguments only.

Everything else — attribute access on objects, other calls, comprehensions, lambdas, f-strings,
assignment expressions — is refused. Sizes are bounded: text literals, results of `*`/`+` on
sequences, and powers, so that `9**9**9` or `"x" * 10**9` stop immediately.

`check_expression(text)` answers at validation time (a problem message or None); `evaluate(text,
data)` runs an expression, re-checking it first, and raises `ExpressionError` on any problem.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import simpleeval

from kefu.core.i18n import lazy

__all__ = [
    "FUNCTIONS",
    "ExpressionError",
    "check_expression",
    "evaluate",
    "expression_problem",
    "referenced_names",
]

MAX_EXPRESSION_LENGTH = 1000
MAX_NODES = 200
MAX_SEQUENCE_LENGTH = 10_000
MAX_POWER_BITS = 4096
MAX_EXPONENT = 1000

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "min": min,
    "max": max,
    "str": str,
    "int": int,
    "float": float,
    "abs": abs,
    "round": round,
    "bool": bool,
}

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
    ast.IfExp,
    ast.Call,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Tuple,
    ast.List,
    ast.Set,
    ast.Subscript,
    ast.Slice,
    ast.Attribute,
)
_CONSTANT_TYPES = (str, int, float, bool, type(None))


class ExpressionError(ValueError):
    """An expression was refused or could not be evaluated.

    `message` is an English msgid with `%(name)s` placeholders filled from `params` (translated where shown).
    """

    def __init__(self, message: str, params: dict[str, Any] | None = None) -> None:
        self.message = message
        self.params = params or {}
        super().__init__(message % self.params if self.params else message)


class _TooLarge(simpleeval.InvalidExpression):
    """A bounded operation was asked for a value that is too large."""


def _refuse_large(result_length: int) -> None:
    if result_length > MAX_SEQUENCE_LENGTH:
        raise _TooLarge("result too long")


def _safe_add(a: Any, b: Any) -> Any:
    if hasattr(a, "__len__") and hasattr(b, "__len__"):
        _refuse_large(len(a) + len(b))
    return a + b


def _safe_mult(a: Any, b: Any) -> Any:
    for seq, times in ((a, b), (b, a)):
        if hasattr(seq, "__len__") and isinstance(times, int):
            _refuse_large(len(seq) * times)
    return a * b


def _safe_mod(a: Any, b: Any) -> Any:
    # printf-style formatting can build huge texts ("%0999999999d"): numbers only.
    if isinstance(a, str | bytes):
        raise simpleeval.FeatureNotAvailable("text formatting with % is not available")
    return a % b


def _safe_pow(a: Any, b: Any) -> Any:
    if isinstance(a, int | float) and isinstance(b, int | float):
        if abs(b) > MAX_EXPONENT:
            raise _TooLarge("exponent too large")
        exact = isinstance(a, int) and isinstance(b, int)
        if exact and abs(a) > 1 and b * math.log2(abs(a)) > MAX_POWER_BITS:
            raise _TooLarge("power too large")
    return a**b


_OPERATORS: dict[type[ast.AST], Callable[..., Any]] = {
    ast.Add: _safe_add,
    ast.Sub: operator.sub,
    ast.Mult: _safe_mult,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: _safe_mod,
    ast.Pow: _safe_pow,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Gt: operator.gt,
    ast.Lt: operator.lt,
    ast.GtE: operator.ge,
    ast.LtE: operator.le,
    ast.Not: operator.not_,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.In: lambda x, y: operator.contains(y, x),
    ast.NotIn: lambda x, y: not operator.contains(y, x),
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}


class _Evaluator(simpleeval.SimpleEval):
    """simpleeval with kefu's operators, functions and node set; attributes are mapping keys only."""

    def __init__(self, names: Mapping[str, Any]) -> None:
        super().__init__(operators=_OPERATORS, functions=FUNCTIONS, names=names)
        for refused in (ast.Assign, ast.AugAssign, ast.Import, ast.JoinedStr, ast.FormattedValue):
            self.nodes.pop(refused, None)
        self.nodes.update({ast.Tuple: self._eval_tuple, ast.List: self._eval_list, ast.Set: self._eval_set})

    def _eval_tuple(self, node: ast.Tuple) -> tuple[Any, ...]:
        return tuple(self._eval(x) for x in node.elts)

    def _eval_list(self, node: ast.List) -> list[Any]:
        return [self._eval(x) for x in node.elts]

    def _eval_set(self, node: ast.Set) -> set[Any]:
        return {self._eval(x) for x in node.elts}

    def _eval_call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
            raise simpleeval.FeatureNotAvailable("call not available")
        return FUNCTIONS[node.func.id](*(self._eval(a) for a in node.args))

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        if node.attr.startswith("_"):
            raise simpleeval.FeatureNotAvailable("private attribute")
        container = self._eval(node.value)
        if not isinstance(container, Mapping) or node.attr not in container:
            raise simpleeval.AttributeDoesNotExist(node.attr, self.expr)
        return container[node.attr]

    def _eval_name(self, node: ast.Name) -> Any:
        if node.id.startswith("_"):
            raise simpleeval.FeatureNotAvailable("private name")
        try:
            return self.names[node.id]
        except KeyError:
            raise simpleeval.NameNotDefined(node.id, self.expr) from None


def expression_problem(text: object) -> tuple[str, dict[str, Any]] | None:
    """Why `text` is not an acceptable expression, as (English msgid, params); None when it is fine.

    Static: nothing of the expression runs, except name-free arithmetic sub-expressions, which are
    computed by the bounded evaluator so that e.g. `9**9**9` is refused at validation time.
    """
    try:
        _checked(text if isinstance(text, str) else "")
    except ExpressionError as exc:
        return exc.message, exc.params
    return None


def check_expression(text: object) -> str | None:
    """The problem with `text` as an English sentence, or None when it is an acceptable expression."""
    problem = expression_problem(text)
    if problem is None:
        return None
    message, params = problem
    return message % params if params else message


def evaluate(text: str, data: Mapping[str, Any]) -> Any:
    """The value of expression `text` with the names of `data`; ExpressionError when refused or failing."""
    tree = _checked(text)
    try:
        return _Evaluator(data).eval(text, previously_parsed=tree.body)
    except ExpressionError:
        raise
    except _TooLarge:
        raise ExpressionError(lazy("The expression computes a value that is too large.")) from None
    except simpleeval.NameNotDefined as exc:
        raise ExpressionError(
            lazy("The expression uses %(name)s, which is not in the data."), {"name": exc.name}
        ) from None
    except Exception as exc:  # an expression's failure is reported, never propagated as-is
        raise ExpressionError(
            lazy("The expression could not be evaluated: %(detail)s"),
            {"detail": f"{type(exc).__name__}: {exc}"},
        ) from None


def referenced_names(text: str) -> set[str]:
    """The data names an (acceptable) expression reads."""
    return {n.id for n in ast.walk(_checked(text)) if isinstance(n, ast.Name) and n.id not in FUNCTIONS}


@lru_cache(maxsize=2048)
def _checked(text: str) -> ast.Expression:
    """The parsed expression after every static check; raises ExpressionError naming the problem."""
    stripped = text.strip()
    if not stripped:
        raise ExpressionError(lazy("The expression is empty."))
    if len(stripped) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            lazy("The expression is too long (at most %(max)s characters)."), {"max": MAX_EXPRESSION_LENGTH}
        )
    try:
        tree = ast.parse(stripped, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        detail = exc.msg if isinstance(exc, SyntaxError) else type(exc).__name__
        raise ExpressionError(lazy("The expression is not valid: %(detail)s"), {"detail": detail}) from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise ExpressionError(
            lazy("The expression is too complex (at most %(max)s elements)."), {"max": MAX_NODES}
        )
    for node in nodes:
        _check_node(node)
    _fold_constants(tree.body)
    return tree


def _check_node(node: ast.AST) -> None:
    if not isinstance(node, _ALLOWED_NODES):
        raise ExpressionError(
            lazy("%(construct)s is not allowed in an expression."), {"construct": type(node).__name__}
        )
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        raise ExpressionError(
            lazy("Names starting with an underscore are not allowed: %(name)s"), {"name": node.id}
        )
    if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        raise ExpressionError(
            lazy("Attributes starting with an underscore are not allowed: %(name)s"), {"name": node.attr}
        )
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, _CONSTANT_TYPES):
            raise ExpressionError(
                lazy("%(construct)s is not allowed in an expression."),
                {"construct": type(node.value).__name__},
            )
        if isinstance(node.value, str) and len(node.value) > MAX_EXPRESSION_LENGTH:
            raise ExpressionError(
                lazy("The expression is too long (at most %(max)s characters)."),
                {"max": MAX_EXPRESSION_LENGTH},
            )
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS:
            raise ExpressionError(
                lazy("Only these functions may be called: %(functions)s"), {"functions": ", ".join(FUNCTIONS)}
            )
        if node.keywords:
            raise ExpressionError(lazy("Keyword arguments are not allowed in function calls."))


def _fold_constants(node: ast.AST) -> None:
    """Compute every outermost name-free arithmetic sub-expression with the bounded evaluator."""
    if isinstance(node, ast.BinOp | ast.UnaryOp) and not any(isinstance(n, ast.Name) for n in ast.walk(node)):
        try:
            _Evaluator({}).eval("", previously_parsed=node)
        except _TooLarge:
            raise ExpressionError(lazy("The expression computes a value that is too large.")) from None
        except Exception as exc:
            raise ExpressionError(
                lazy("The expression could not be evaluated: %(detail)s"),
                {"detail": f"{type(exc).__name__}: {exc}"},
            ) from None
        return
    for child in ast.iter_child_nodes(node):
        _fold_constants(child)
