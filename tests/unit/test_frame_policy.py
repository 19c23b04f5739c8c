"""The frames section of the compliance policy (edgeloop.domain.frame_policy): default deny, the
per-site rule, its validation naming the field, and the decision for one frame."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgeloop.config.edge_functions import load_compliance_policy
from edgeloop.domain.compliance import PolicyError, parse_policy
from edgeloop.domain.frame_policy import FramePolicy
from edgeloop.domain.frames import DayUsage, FrameOrigin, ResultSummary, StoredFrame

REPO_ROOT = Path(__file__).resolve().parents[2]
NOON = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
ALLOW = {
    "upload": "allow",
    "max_frames_per_day": 2,
    "max_bytes_per_day": 1000,
    "worth_a_label": {"threshold": 0.5, "band": 0.1},
}


def policy_with(frames: Any) -> FramePolicy:
    document = {"version": 1, "fields": {"kind": "allow"}, "frames": frames}
    return parse_policy(document, "policies/site.yaml").frames


def frame(site: str = "plant-7", confidence: float = 0.55, size: int = 100) -> StoredFrame:
    origin = FrameOrigin(site, "upload", "part.png", NOON, "i" * 32 + "-00000")
    return StoredFrame("f" * 32, "image/png", size, NOON, origin, ResultSummary("dent", confidence))


def test_the_shipped_policy_lets_no_frame_out() -> None:
    policy = load_compliance_policy(REPO_ROOT / "policies" / "compliance.yaml")
    assert policy.frames.sites == {}
    decision = policy.frames.decide(frame(site="site-local"), DayUsage())
    assert decision.outcome == "policy_denies"
    assert "default deny" in decision.reason


def test_no_frames_section_is_default_deny() -> None:
    policy = parse_policy({"version": 1, "fields": {"kind": "allow"}}, "p.yaml")
    assert policy.frames.decide(frame(), DayUsage()).outcome == "policy_denies"


def test_an_allowed_site_uploads_frames_worth_a_label_within_its_quota() -> None:
    policy = policy_with({"sites": {"plant-7": ALLOW, "plant-8": {"upload": "deny"}}})
    assert policy.decide(frame(), DayUsage()).allowed
    assert policy.decide(frame(confidence=0.95), DayUsage()).outcome == "not_worth_a_label"
    assert policy.decide(frame(), DayUsage(frames=2, bytes=200)).outcome == "quota_reached"
    assert policy.decide(frame(size=901), DayUsage(frames=1, bytes=100)).outcome == "quota_reached"
    denied = policy.decide(frame(site="plant-8"), DayUsage())
    assert (denied.outcome, "upload: deny" in denied.reason) == ("policy_denies", True)
    assert policy.decide(frame(site="plant-9"), DayUsage()).outcome == "policy_denies"


def test_a_frames_rule_reads_from_yaml_with_underscored_numbers() -> None:
    text = """
    sites:
      plant-7:
        upload: allow
        max_frames_per_day: 200
        max_bytes_per_day: 50_000_000
        worth_a_label: {threshold: 0.5, band: 0.1, models_disagree: false}
    """
    rule = policy_with(yaml.safe_load(text)).rule_for("plant-7")
    assert rule is not None
    assert (rule.quota.max_frames, rule.quota.max_bytes) == (200, 50_000_000)
    assert not rule.worth.models_disagree


def worth(**options: Any) -> dict[str, Any]:
    return {"sites": {"plant-7": {**ALLOW, "worth_a_label": {"threshold": 0.5, "band": 0.1, **options}}}}


def without(key: str) -> dict[str, Any]:
    return {k: v for k, v in ALLOW.items() if k != key}


@pytest.mark.parametrize(
    ("frames", "field"),
    [
        ([], "frames"),
        ({"site": {}}, "frames"),
        ({"sites": ["plant-7"]}, "frames.sites"),
        ({"sites": {"plant-7": "allow"}}, "frames.sites.plant-7"),
        ({"sites": {"plant-7": {**ALLOW, "upload": "yes"}}}, "frames.sites.plant-7.upload"),
        ({"sites": {"plant-7": {**ALLOW, "max_frames": 3}}}, "frames.sites.plant-7"),
        ({"sites": {"plant-7": without("max_frames_per_day")}}, "frames.sites.plant-7.max_frames_per_day"),
        ({"sites": {"plant-7": without("worth_a_label")}}, "frames.sites.plant-7.worth_a_label"),
        (
            {"sites": {"plant-7": {**ALLOW, "max_frames_per_day": 0}}},
            "frames.sites.plant-7.max_frames_per_day",
        ),
        (
            {"sites": {"plant-7": {**ALLOW, "max_bytes_per_day": "1 GB"}}},
            "frames.sites.plant-7.max_bytes_per_day",
        ),
        (
            {"sites": {"plant-7": {**ALLOW, "max_frames_per_day": True}}},
            "frames.sites.plant-7.max_frames_per_day",
        ),
        (
            {"sites": {"plant-7": {**ALLOW, "worth_a_label": {"threshold": 0.5}}}},
            "frames.sites.plant-7.worth_a_label.band",
        ),
        (
            {"sites": {"plant-7": {**ALLOW, "worth_a_label": {"threshold": 2, "band": 0.1}}}},
            "frames.sites.plant-7.worth_a_label.threshold",
        ),
        (
            {"sites": {"plant-7": {**ALLOW, "worth_a_label": {"threshold": 0.5, "band": -1}}}},
            "frames.sites.plant-7.worth_a_label.band",
        ),
        (
            {
                "sites": {
                    "plant-7": {
                        **ALLOW,
                        "worth_a_label": {"threshold": 0.5, "band": 0.1, "models_disagree": "y"},
                    }
                }
            },
            "frames.sites.plant-7.worth_a_label.models_disagree",
        ),
        (
            worth(near=1),
            "frames.sites.plant-7.worth_a_label",
        ),
    ],
)
def test_bad_frames_rules_are_refused_naming_the_field(frames: Any, field: str) -> None:
    with pytest.raises(PolicyError) as caught:
        policy_with(frames)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"policies/site.yaml: {field}: ")


def test_the_policy_file_refuses_a_bad_frames_rule_naming_file_and_field(tmp_path: Path) -> None:
    shipped = yaml.safe_load((REPO_ROOT / "policies" / "compliance.yaml").read_text(encoding="utf-8"))
    shipped["frames"] = {"sites": {"plant-7": {**ALLOW, "max_bytes_per_day": -5}}}
    path = tmp_path / "compliance.yaml"
    path.write_text(yaml.safe_dump(shipped), encoding="utf-8")
    with pytest.raises(PolicyError, match=r"compliance\.yaml: frames\.sites\.plant-7\.max_bytes_per_day: "):
        load_compliance_policy(path)
