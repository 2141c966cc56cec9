"""Exception types shared across fnlib. Every message says what went wrong and what to do."""

from __future__ import annotations


class FnError(Exception):
    """Base class for all errors raised deliberately by fnlib."""


class InputError(FnError):
    """Bad user input: a parameter, a path or an identifier that cannot be used."""


class NothingToDo(FnError):
    """A scheduled stage found nothing to do yet (no champion, no new data). Not a failure:
    on Airflow the task ends as skipped with this message."""
