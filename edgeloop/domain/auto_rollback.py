"""The edge's automatic rollback rule: a new model that flags far more rows than the last one.

After a swap the site counts rows and anomalies per model version. Once the new
model has scored ``window_rows`` rows, its anomaly rate is compared with the
previous model's rate (measured on this site before the swap): more than
``multiple`` times that rate means the new model is rolled back. The previous
rate has a floor (one anomaly per window), so a quiet previous model does not
make any single anomaly a reason to roll back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Verdict = Literal["wait", "keep", "roll_back"]


@dataclass(frozen=True, slots=True)
class RateCount:
    rows: int
    anomalies: int

    @property
    def rate(self) -> float:
        return self.anomalies / self.rows if self.rows else 0.0


@dataclass(frozen=True, slots=True)
class RollbackRule:
    multiple: float = 3.0
    window_rows: int = 200
    min_baseline_rows: int = 50  # fewer rows seen on the previous model: no judgement is possible

    def judge(self, previous: RateCount, current: RateCount) -> tuple[Verdict, str]:
        if previous.rows < self.min_baseline_rows:
            return "keep", f"previous model scored only {previous.rows} rows here: no baseline to compare"
        if current.rows < self.window_rows:
            return "wait", f"{current.rows} of {self.window_rows} rows scored by the new model"
        baseline = max(previous.rate, 1.0 / self.window_rows)
        if current.rate > self.multiple * baseline:
            return "roll_back", (
                f"anomaly rate {current.rate:.1%} over {current.rows} rows is more than "
                f"{self.multiple:g}x the previous model's {previous.rate:.1%}"
            )
        return "keep", f"anomaly rate {current.rate:.1%} vs previous {previous.rate:.1%}: within bounds"
