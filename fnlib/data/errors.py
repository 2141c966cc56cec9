"""Errors for bad corpora: they name the rows and the reasons, so users can fix the input."""

from __future__ import annotations

from dataclasses import dataclass

from fnlib.errors import InputError


@dataclass(frozen=True)
class Problem:
    """One problem found in the input. ``rows`` are 0-based data row positions (header excluded)."""

    check: str
    message: str
    rows: tuple[int, ...] = ()
    column: str | None = None

    def describe(self, max_rows: int = 10) -> str:
        where = f" [column {self.column}]" if self.column else ""
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:max_rows])
            more = f" and {len(self.rows) - max_rows} more" if len(self.rows) > max_rows else ""
            where += f" rows {shown}{more}"
        return f"{self.check}{where}: {self.message}"


class CorpusError(InputError):
    """The corpus cannot be used. ``problems`` lists every problem found, not only the first."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  - {p.describe()}" for p in self.problems)
        super().__init__(
            f"{source}: input rejected, nothing was uploaded ({len(self.problems)} problem(s)):\n{lines}"
        )
