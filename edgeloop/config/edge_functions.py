"""Settings of the edge Functions (``filter_insights``) and the compliance policy file.

Names follow docs/CONTRACTS.md. The connections ``EdgeStorage``, ``CloudStorage`` and
``ServiceBusConnection`` have no default: a connection string or the identity-based
settings (edgeloop.config.connections) must be given; ``make run`` and the tests set them.
A site writes the cloud with create-only SAS instead of ``CloudStorage``
(``EDGELOOP_COMPLIANT_STORAGE``, ``EDGELOOP_ANOMALIES_STORAGE``: edgeloop.config.site_access)
and signs each blob with its own key (``EDGELOOP_SITE_SIGNING_KEY``: edgeloop.config.site_signing).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import Field, SecretStr, field_validator

from edgeloop.config.azure_sdk import AzureSdkOptions
from edgeloop.config.base import EdgeloopSettings
from edgeloop.config.connections import (
    CloudStorageConnection,
    EdgeStorageConnection,
    ServiceBusConnectionSettings,
)
from edgeloop.config.site_access import SiteCloudWrites
from edgeloop.config.site_signing import SiteSigningKey
from edgeloop.domain.compliance import CompliancePolicy, PolicyError, parse_policy
from edgeloop.wire.messaging import INSIGHTS_QUEUE, INSIGHTS_TOPIC, TOPIC_SUBSCRIPTIONS

MIN_HMAC_KEY_LENGTH = 16


class EdgeFunctionSettings(
    EdgeStorageConnection,
    CloudStorageConnection,
    ServiceBusConnectionSettings,
    SiteCloudWrites,
    SiteSigningKey,
    AzureSdkOptions,
    EdgeloopSettings,
):
    # ServiceBusConnection: a Service Bus connection string or namespace in Azure; locally a
    # storage connection string or, for a site, one add-only SAS URL per queue (the topic is
    # emulated by one queue per subscription; edgeloop.config.site_access).
    insights_queue: str = Field(default=INSIGHTS_QUEUE, min_length=3, alias="INSIGHTS_QUEUE")
    site_id: str = Field(default="site-local", min_length=1, alias="EDGELOOP_SITE_ID")
    # Pseudonymization key; required when the policy pseudonymizes. Never leaves the site.
    site_hmac_key: SecretStr | None = Field(default=None, alias="EDGELOOP_SITE_HMAC_KEY")
    policy_path: Path = Field(default=Path("policies/compliance.yaml"), alias="EDGELOOP_COMPLIANCE_POLICY")
    topic: str = Field(default=INSIGHTS_TOPIC, min_length=1, alias="EDGELOOP_INSIGHTS_TOPIC")
    # Comma-separated; locally each becomes queue "<topic>-<subscription>".
    subscriptions: str = Field(
        default=",".join(TOPIC_SUBSCRIPTIONS), min_length=1, alias="EDGELOOP_TOPIC_SUBSCRIPTIONS"
    )

    @field_validator("site_hmac_key")
    @classmethod
    def _key_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_HMAC_KEY_LENGTH:
            raise ValueError(f"EDGELOOP_SITE_HMAC_KEY must be at least {MIN_HMAC_KEY_LENGTH} characters")
        return value

    def hmac_key(self) -> bytes | None:
        return None if self.site_hmac_key is None else self.site_hmac_key.get_secret_value().encode("utf-8")

    def subscription_names(self) -> list[str]:
        return [name.strip() for name in self.subscriptions.split(",") if name.strip()]


def load_compliance_policy(path: Path) -> CompliancePolicy:
    """Read and validate the policy file; every error names the file and the field."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(
            source, "(file)", "policy file not found (setting EDGELOOP_COMPLIANCE_POLICY)"
        ) from None
    except OSError as exc:
        raise PolicyError(source, "(file)", f"cannot read the policy file: {exc}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(source, "(file)", f"not valid YAML: {exc}") from None
    return parse_policy(document, source)
