"""The frames rule of the compliance policy: which sites may upload which kept frames.

Default deny. The ``frames`` section of ``policies/compliance.yaml`` names each site
that may upload frames for labelling and retraining, with its daily quota and the
"worth a label" selection::

    frames:
      sites:
        plant-7:
          upload: allow            # or deny; a site not listed is denied
          max_frames_per_day: 200
          max_bytes_per_day: 50000000
          worth_a_label: {threshold: 0.5, band: 0.1, models_disagree: true}

:func:`parse_frame_policy` validates it (errors name the field, e.g.
``frames.sites.plant-7.max_frames_per_day``); :meth:`FramePolicy.decide` says, for one
kept frame and the site's uploads so far today, whether it may go and why not. Pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from edgeloop.domain.frames import DailyQuota, DayUsage, FrameError, LabelWorth, StoredFrame
from edgeloop.domain.policy_errors import PolicyError

# "unreadable": allowed, but its bytes are not a well-formed image, so its metadata could not be
# removed (edgeloop.domain.frame_metadata): it stays on site.
UploadOutcome = Literal["uploaded", "policy_denies", "not_worth_a_label", "quota_reached", "unreadable"]
REFUSALS: tuple[UploadOutcome, ...] = ("policy_denies", "not_worth_a_label", "quota_reached", "unreadable")
_RULE_KEYS = frozenset({"upload", "max_frames_per_day", "max_bytes_per_day", "worth_a_label"})
_WORTH_KEYS = frozenset({"threshold", "band", "models_disagree"})


@dataclass(frozen=True, slots=True)
class FrameUploadRule:
    """A site's permission to upload frames: within ``quota``, those ``worth`` selects."""

    quota: DailyQuota
    worth: LabelWorth


@dataclass(frozen=True, slots=True)
class UploadDecision:
    outcome: UploadOutcome  # "uploaded": the frame may go (recorded as such once it went)
    reason: str

    @property
    def allowed(self) -> bool:
        return self.outcome == "uploaded"


@dataclass(frozen=True, slots=True)
class FramePolicy:
    """Site id -> its rule; a site absent, or listed with ``upload: deny``, uploads nothing."""

    sites: dict[str, FrameUploadRule | None] = field(default_factory=dict)

    def rule_for(self, site_id: str) -> FrameUploadRule | None:
        return self.sites.get(site_id)

    def decide(self, frame: StoredFrame, used_today: DayUsage) -> UploadDecision:
        site = frame.origin.site_id
        rule = self.rule_for(site)
        if rule is None:
            why = "upload: deny" if site in self.sites else "no frames rule (default deny)"
            return UploadDecision("policy_denies", f"site {site!r}: {why}")
        if not rule.worth.selects(frame.result):
            worth = rule.worth
            return UploadDecision(
                "not_worth_a_label",
                f"score {frame.result.score} outside {worth.threshold} ± {worth.band}, models agree",
            )
        if not rule.quota.admits(used_today, frame.size_bytes):
            quota = rule.quota
            return UploadDecision(
                "quota_reached",
                f"today {used_today.frames}/{quota.max_frames} frames, "
                f"{used_today.bytes}+{frame.size_bytes}/{quota.max_bytes} bytes",
            )
        return UploadDecision("uploaded", "allowed: worth a label, within the daily quota")


def _positive_int(source: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PolicyError(source, name, f"must be a whole number of at least 1, got {value!r}")
    return value


def _fraction(source: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PolicyError(source, name, f"must be a number, got {value!r}")
    return float(value)


def _mapping(source: str, name: str, value: Any, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PolicyError(source, name, "must be a mapping")
    unknown = set(value) - allowed
    if unknown:
        raise PolicyError(source, name, f"unknown key(s) {sorted(map(str, unknown))}")
    return value


def _parse_worth(source: str, name: str, value: Any) -> LabelWorth:
    spec = _mapping(source, name, value, _WORTH_KEYS)
    for key in ("threshold", "band"):
        if key not in spec:
            raise PolicyError(source, f"{name}.{key}", "required")
    disagree = spec.get("models_disagree", True)
    if not isinstance(disagree, bool):
        raise PolicyError(source, f"{name}.models_disagree", f"must be true or false, got {disagree!r}")
    threshold = _fraction(source, f"{name}.threshold", spec["threshold"])
    band = _fraction(source, f"{name}.band", spec["band"])
    try:
        return LabelWorth(threshold, band, disagree)
    except FrameError as exc:
        raise PolicyError(source, f"{name}.{exc.field}", exc.message) from None


def _parse_site_rule(source: str, name: str, value: Any) -> FrameUploadRule | None:
    spec = _mapping(source, name, value, _RULE_KEYS)
    upload = spec.get("upload")
    if upload not in ("allow", "deny"):
        raise PolicyError(source, f"{name}.upload", f"must be 'allow' or 'deny', got {upload!r}")
    if upload == "deny":
        return None
    for key in ("max_frames_per_day", "max_bytes_per_day", "worth_a_label"):
        if key not in spec:
            raise PolicyError(source, f"{name}.{key}", "required when upload is 'allow'")
    quota = DailyQuota(
        _positive_int(source, f"{name}.max_frames_per_day", spec["max_frames_per_day"]),
        _positive_int(source, f"{name}.max_bytes_per_day", spec["max_bytes_per_day"]),
    )
    return FrameUploadRule(quota, _parse_worth(source, f"{name}.worth_a_label", spec["worth_a_label"]))


def parse_frame_policy(source: str, value: Any) -> FramePolicy:
    """The ``frames`` section (None: absent, every site denied); errors name ``frames.<...>``."""
    if value is None:
        return FramePolicy()
    section = _mapping(source, "frames", value, frozenset({"sites"}))
    sites = section.get("sites") or {}
    if not isinstance(sites, dict):
        raise PolicyError(source, "frames.sites", "must be a mapping of site id to its rule")
    rules: dict[str, FrameUploadRule | None] = {}
    for site, spec in sites.items():
        if not isinstance(site, str) or not site:
            raise PolicyError(source, "frames.sites", f"a site id must be a non-empty string, got {site!r}")
        rules[site] = _parse_site_rule(source, f"frames.sites.{site}", spec)
    return FramePolicy(rules)
