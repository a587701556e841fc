"""What a rule returns: one alert-worthy condition of one SKU, as plain JSON-able values."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Finding:
    """A rule's verdict for one SKU; persisted as (or onto) an alert."""

    store_id: str
    product_id: str
    alert_type: str
    severity: str
    message: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        return cls(
            store_id=str(data["store_id"]),
            product_id=str(data["product_id"]),
            alert_type=str(data["alert_type"]),
            severity=str(data["severity"]),
            message=str(data["message"]),
            metadata=dict(data.get("metadata") or {}),
        )
