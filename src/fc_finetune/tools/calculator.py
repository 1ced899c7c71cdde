"""A safe arithmetic calculator: the expression is parsed with :mod:`ast` and walked node by node.

Nothing is ever passed to ``eval``/``exec``. Only numbers, ``+ - * / // % **``, unary ``+``/``-``,
parentheses, the constants in :data:`CONSTANTS` and calls of the functions in :data:`FUNCTIONS`
(by bare name: ``sqrt(2)``, not ``math.sqrt(2)``) are accepted. The work is capped, each
limit checked *before* the operation runs, so a hostile expression is refused at once instead
of holding the interpreter (a C loop cannot even be interrupted by Ctrl-C): integers at
:data:`MAX_INT_BITS` bits (every intermediate value, and a power or product before it is
computed, so ``10**10**10`` fails instantly), integer exponents at :data:`MAX_EXPONENT`,
``round``'s digits at :data:`MAX_ROUND_DIGITS` (``round(1, -10**8)`` would build ``10**10**8``)
and ``factorial`` at :data:`MAX_FACTORIAL`.

>>> calculate("2 * (3 + 4) ** 2")["result"]
98
"""

from __future__ import annotations

import ast
import logging
import math
import operator
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

MAX_EXPRESSION_CHARS = 1_000
MAX_DEPTH = 200  # nesting of the syntax tree (a long sum is a deep left-leaning tree)
MAX_INT_BITS = 4_096  # about 1,233 decimal digits
MAX_DIGITS = int(MAX_INT_BITS * math.log10(2))
MAX_FACTORIAL = 1_000  # computed in well under a millisecond; the result is then held to MAX_INT_BITS
MAX_EXPONENT = 100_000  # |n| in x**n for an integer n; integer powers are also held to MAX_INT_BITS
MAX_ROUND_DIGITS = MAX_DIGITS + 10  # |ndigits| in round(x, ndigits): more says nothing about any value here

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}


class _Refused(ValueError):
    """A call refused before it runs; its message is shown as it is."""


def _factorial(n: Any) -> int:
    if isinstance(n, float) and n.is_integer():
        n = int(n)
    if isinstance(n, int) and n > MAX_FACTORIAL:  # a cap on the work, not a gap in the definition
        raise _Refused(f"factorial() is limited to n <= {MAX_FACTORIAL} here, got {n}; use a smaller number")
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"factorial needs a whole number from 0 to {MAX_FACTORIAL}, got {n!r}")
    return math.factorial(n)


def _round(x: Any, ndigits: Any = None) -> Any:
    """``round``, refusing digit counts whose power of ten alone would be a huge integer."""
    if isinstance(ndigits, int) and not isinstance(ndigits, bool) and abs(ndigits) > MAX_ROUND_DIGITS:
        raise _Refused(f"round() takes at most {MAX_ROUND_DIGITS} digits either way, got {ndigits}; "
                         "use a smaller number of digits")
    return round(x) if ndigits is None else round(x, ndigits)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt, "cbrt": math.cbrt, "exp": math.exp, "log": math.log, "log10": math.log10,
    "log2": math.log2, "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin,
    "acos": math.acos, "atan": math.atan, "atan2": math.atan2, "sinh": math.sinh, "cosh": math.cosh,
    "tanh": math.tanh, "degrees": math.degrees, "radians": math.radians, "hypot": math.hypot,
    "floor": math.floor, "ceil": math.ceil, "abs": abs, "round": _round, "min": min, "max": max,
    "factorial": _factorial,
}

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def _check_int(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise ValueError(f"the result is too large (more than {MAX_INT_BITS} bits, about "
                         f"{MAX_DIGITS} digits); use smaller numbers")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("the result is not a finite number (overflow or an undefined operation); "
                         "use smaller numbers")
    return value


def _power(base: Any, exponent: Any) -> Any:
    """``base ** exponent``, refusing integer exponents over the cap and integer powers whose
    size would pass it."""
    if isinstance(exponent, int) and abs(exponent) > MAX_EXPONENT and abs(base) not in (0, 1):
        raise ValueError(f"the exponent {exponent} is too large (limit {MAX_EXPONENT} either way); "
                         "use a smaller exponent")
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        if (abs(base).bit_length() - 1) * exponent > MAX_INT_BITS:
            raise ValueError(f"the power {_short(base)}**{exponent} is too large to compute (limit about "
                             f"{MAX_DIGITS} digits); use smaller numbers")
    if isinstance(base, int | float) and base < 0 and isinstance(exponent, float) and not exponent.is_integer():
        raise ValueError(f"a negative number ({base}) to a fractional power ({exponent}) is not a real number")
    return base**exponent


def _short(value: Any) -> str:
    """A number for an error message: long integers by their number of digits."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"<a {int(value.bit_length() * math.log10(2)) + 1}-digit integer>"
    return repr(value)


def _binary(node: ast.BinOp, left: Any, right: Any) -> Any:
    if isinstance(node.op, ast.BitXor):
        raise ValueError("'^' is not a power operator here; use '**' for powers, e.g. 2**10")
    op = _BINARY.get(type(node.op))
    if op is None:
        raise ValueError(f"the operator {type(node.op).__name__} is not supported; use + - * / // % **")
    if isinstance(node.op, ast.Pow):
        return _power(left, right)
    if isinstance(node.op, ast.Mult) and isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS + 1:
            raise ValueError("the product is too large to compute; use smaller numbers")
    return op(left, right)


def _call(node: ast.Call, depth: int) -> Any:
    if isinstance(node.func, ast.Attribute):
        raise ValueError("attribute access is not allowed; call functions by bare name, e.g. sqrt(2)")
    if not isinstance(node.func, ast.Name):
        raise ValueError("only calls of the allowed functions by bare name are supported, e.g. sqrt(2); "
                         f"allowed: {', '.join(FUNCTIONS)}")
    name = node.func.id
    if name not in FUNCTIONS:
        raise ValueError(f"unknown function {name!r}; allowed functions: {', '.join(FUNCTIONS)}")
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise ValueError(f"{name}() takes plain positional arguments only")
    args = [_eval(a, depth + 1) for a in node.args]
    try:
        return FUNCTIONS[name](*args)
    except TypeError as e:
        raise ValueError(f"wrong arguments for {name}(): {e}") from None
    except _Refused as e:
        raise ValueError(str(e)) from None
    except ValueError as e:
        raise ValueError(f"{name}({', '.join(map(_short, args))}) is undefined: {e}") from None


def _eval(node: ast.AST, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise ValueError(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)")
    if isinstance(node, ast.Expression):
        return _eval(node.body, depth + 1)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise ValueError(f"only numbers are allowed, got {node.value!r}")
        return _check_int(node.value)
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        hint = " (functions must be called, e.g. sqrt(2))" if node.id in FUNCTIONS else ""
        raise ValueError(f"unknown name {node.id!r}{hint}; allowed constants: {', '.join(CONSTANTS)}")
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand, depth + 1))
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, depth + 1), _eval(node.right, depth + 1)
        return _check_int(_binary(node, left, right))
    if isinstance(node, ast.Call):
        return _check_int(_call(node, depth))
    if isinstance(node, ast.Attribute):
        raise ValueError("attribute access is not allowed; call functions by bare name, e.g. sqrt(2)")
    raise ValueError(f"{type(node).__name__} is not allowed; only arithmetic on numbers is supported")


def calculate(expression: str) -> dict:
    """Evaluate an arithmetic expression exactly as written and return its value.

    Supports numbers, + - * / // % ** (power), parentheses, the constants pi, e and tau, and
    the functions sqrt, cbrt, exp, log (natural, or log(x, base)), log10, log2, sin, cos, tan,
    asin, acos, atan, atan2, sinh, cosh, tanh, degrees, radians, hypot, floor, ceil, abs,
    round, min, max and factorial. Angles are in radians.

    Args:
        expression: The arithmetic expression, e.g. "sqrt(16) + 2**10 / 4".
    """
    if not isinstance(expression, str) or not expression.strip():
        raise ValueError("the expression is empty; pass arithmetic such as '2 + 2'")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ValueError(f"the expression is too long ({len(expression)} characters, limit {MAX_EXPRESSION_CHARS})")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as e:
        raise ValueError(f"the expression is not valid arithmetic ({e.msg}); write it like '(1 + 2) * 3'") from None
    except (RecursionError, MemoryError):
        raise ValueError("the expression is nested too deeply") from None
    try:
        result = _eval(tree)
    except ZeroDivisionError:
        raise ValueError("division by zero") from None
    except OverflowError:
        raise ValueError("the result is too large to represent; use smaller numbers") from None
    except RecursionError:
        raise ValueError("the expression is nested too deeply") from None
    logger.debug("calculate(%r) = %r", expression, result)
    return {"expression": expression, "result": result}
