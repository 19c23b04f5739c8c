"""A recalibrated sensor for ``edgeloop replay --drift``: one input shifted from a given row on.

``torque_nm+5@200``: from the 201st row sent, ``torque_nm`` reads 5 more than the data says;
``air_temperature_k*1.02@60s``: from 60 seconds into the replay (at its rate), 2% more;
``torque_nm*1.1+2@0``: scale then offset, from the first row. The data drifts the way a site's
does after a sensor is swapped or recalibrated, while its labels stay the truth.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from edgeloop.cli.replayer import ReplayError, ReplayRow

_SPEC = re.compile(
    r"(?P<field>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:\*(?P<scale>[-+]?[0-9.]+(?:[eE][-+]?\d+)?))?"
    r"(?P<offset>[-+][0-9.]+(?:[eE][-+]?\d+)?)?"
    r"@(?P<start>\d+(?:\.\d+)?)(?P<seconds>s?)"
)


@dataclass(frozen=True)
class Recalibration:
    """From row ``start_row`` on (0-based), ``field`` reads ``value * scale + offset``."""

    field: str
    scale: float = 1.0
    offset: float = 0.0
    start_row: int = 0

    @classmethod
    def parse(cls, spec: str, rate: float) -> Recalibration:
        """``FIELD[*SCALE][+-OFFSET]@ROW`` or ``...@SECONDSs`` (seconds at ``rate`` rows per second)."""
        match = _SPEC.fullmatch(spec.strip())
        if match is None or (match["scale"] is None and match["offset"] is None):
            raise ReplayError(
                f"--drift {spec!r}: expected FIELD*SCALE, FIELD+OFFSET or both, then @ROW or @SECONDSs "
                "(e.g. torque_nm+5@200, air_temperature_k*1.02@60s)"
            )
        scale = float(match["scale"]) if match["scale"] is not None else 1.0
        offset = float(match["offset"]) if match["offset"] is not None else 0.0
        if not (math.isfinite(scale) and math.isfinite(offset)):
            raise ReplayError(f"--drift {spec!r}: the scale and offset must be finite numbers")
        start = float(match["start"])
        start_row = math.ceil(start * rate) if match["seconds"] else int(start)
        return cls(match["field"], scale, offset, start_row)

    def apply(self, rows: list[ReplayRow]) -> list[ReplayRow]:
        """The rows as the recalibrated sensor reports them; ReplayError if the field is no number."""
        shifted = list(rows[: self.start_row])
        for row in rows[self.start_row :]:
            value = row.row.get(self.field)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ReplayError(f"--drift: {self.field!r} is not a numeric input of the model")
            shifted.append(replace(row, row={**row.row, self.field: value * self.scale + self.offset}))
        return shifted
