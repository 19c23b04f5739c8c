"""How long a feedback label may be, whatever the task (a leaf module: records and the tasks both read it)."""

from __future__ import annotations

# A class name is short; a detection label's verdicts and missed boxes fit (edgeloop.domain.detection_labels).
MAX_LABEL_LENGTH = 200
