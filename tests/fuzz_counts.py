"""How many cases each fuzz target ran and how many were answered >= 500 (issue 22).

Every fuzz test counts its cases here as they go (so a failing run is counted too);
`tests/conftest.py` prints one line per target at the end of the pytest run (under
pytest-xdist each worker hands its tallies to the controller, which `merge`s them).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Tally:
    cases: int = 0
    server_errors: int = 0  # answered >= 500, or a crash where an answer was due


TALLIES: dict[str, Tally] = {}


def count(target: str, status: int) -> None:
    """One case of `target`, answered `status` (HTTP, or 500 for a crash)."""
    tally = TALLIES.setdefault(target, Tally())
    tally.cases += 1
    if status >= 500:
        tally.server_errors += 1


def merge(tallies: dict[str, list[int]]) -> None:
    """Add a pytest-xdist worker's tallies ({target: [cases, server_errors]})."""
    for target, (cases, server_errors) in tallies.items():
        tally = TALLIES.setdefault(target, Tally())
        tally.cases += cases
        tally.server_errors += server_errors


def summary() -> list[str]:
    return [f"{target}: {t.cases} cases, {t.server_errors} answered >= 500"
            for target, t in sorted(TALLIES.items())]
