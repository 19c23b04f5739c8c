"""Champion lines: the fleet's model and, where one model cannot serve every site, a cohort's own.

A model *line* is a name in the registry with its own versions and champion pointer. The
fleet's line is the base (``MODEL_NAME``); a :class:`Cohort` of sites gets a line of its own
(``RETRAIN_COHORTS``), trained on the base data plus only its sites' labelled rows and gated
on its sites' held-out rows; its sites serve it (their ``SCORING_MODEL_NAME`` names it). The
base line learns from the other sites only, so a cohort's data never bends the fleet's model.
A cohort line with no champion yet starts from the base line's: that is what its first
challenger must beat on the cohort's rows. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class ModelLinesError(ValueError):
    """The cohorts' configuration is inconsistent (a name or a site twice, an empty cohort)."""


@dataclass(frozen=True, slots=True)
class Cohort:
    line: str  # the line's model name in the registry
    sites: frozenset[str]


@dataclass(frozen=True, slots=True)
class ModelLines:
    base: str
    cohorts: tuple[Cohort, ...] = ()

    def __post_init__(self) -> None:
        names = [self.base, *(cohort.line for cohort in self.cohorts)]
        if len(set(names)) != len(names):
            raise ModelLinesError(f"line names must differ from each other and from {self.base!r}: {names}")
        seen: dict[str, str] = {}
        for cohort in self.cohorts:
            if not cohort.sites:
                raise ModelLinesError(f"cohort {cohort.line!r} lists no sites")
            for site in cohort.sites:
                if site in seen:
                    raise ModelLinesError(f"site {site!r} is in cohorts {seen[site]!r} and {cohort.line!r}")
                seen[site] = cohort.line

    @property
    def names(self) -> tuple[str, ...]:
        return (self.base, *(cohort.line for cohort in self.cohorts))

    def cohort(self, line: str) -> Cohort | None:
        return next((cohort for cohort in self.cohorts if cohort.line == line), None)

    def line_of(self, site: str) -> str:
        """The line ``site`` serves."""
        return next((cohort.line for cohort in self.cohorts if site in cohort.sites), self.base)

    def parent(self, line: str) -> str | None:
        """Where a cohort line without a champion starts from (the base line); None for the base."""
        return self.base if self.cohort(line) is not None else None

    def learns_from(self, line: str, site: str) -> bool:
        """Whether ``line`` trains on (and is judged on) ``site``'s rows: the sites that serve it."""
        return self.line_of(site) == line


def parse_cohorts(base: str, document: Sequence[Mapping[str, Any]]) -> ModelLines:
    """``[{"line": NAME, "sites": [SITE, ...]}, ...]`` -> :class:`ModelLines` (ModelLinesError)."""
    cohorts = []
    for index, item in enumerate(document):
        line, sites = item.get("line"), item.get("sites")
        if not isinstance(line, str) or not line:
            raise ModelLinesError(f"cohort {index}: 'line' must be a model name")
        if not isinstance(sites, list) or not all(isinstance(site, str) and site for site in sites):
            raise ModelLinesError(f"cohort {index} ({line}): 'sites' must be a list of site ids")
        cohorts.append(Cohort(line, frozenset(sites)))
    return ModelLines(base, tuple(cohorts))
