"""SQLAlchemy's errors as :class:`monitor.errors.StoreError`, for every module of the store.

Owns: :func:`translated`, the decorator each public store method wears. Imports SQLAlchemy's
exception tree and ``monitor.errors`` only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StoreError

P = ParamSpec("P")
R = TypeVar("R")


def translated(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn``, raising :class:`StoreError` (naming ``fn``) where SQLAlchemy raised."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except SQLAlchemyError as exc:
            raise StoreError(f"database error in {fn.__name__}: {exc}") from exc

    return wrapper
