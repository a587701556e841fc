"""The history pre-screen: which SKUs surely get no anomaly, accuracy or reorder finding.

A sweep with history judges every SKU by three rules, and almost all of them are quiet. The
batch read (:mod:`shelfops_alerts.detect.history_inputs`) works out each SKU's history
statistics in SQL — counts, sums, the median and MAD of past residuals, the root mean
square error — and sends a SKU's days to Python only when those statistics say a rule
*could* find something; the others are judged "no finding" without running the rules.

The statistics are not bit-identical to the rules' (PostgreSQL sums in another order, and
interpolates a median as ``a + (b − a) · 0.5``, not ``(a + b) / 2``), so every comparison
keeps a margin of :data:`MARGIN` relative to the magnitudes involved — a million times the
worst rounding difference of a month of sums — and only ever answers "unsure" inside it:
a SKU near a threshold, or with a NaN or infinite value, goes to the rules, which decide as
they always did. So the findings are exactly the rules' own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from shelfops_alerts.detect.rules.reorder import Policy, lead_time_demand, z_score
from shelfops_alerts.detect.rules.rule_settings import RuleSettings

#: Relative margin of every screen comparison (see the module docstring). Float sums of 28
#: days differ by at most about 28 · 2⁻⁵³ ≈ 3e-15 of their magnitude; 1e-9 is far beyond.
MARGIN = 1e-9
#: "Always send this SKU's days to the rules" (PostgreSQL reads ``-inf`` as −Infinity).
ALWAYS = -math.inf


def reorder_sigma_bound(
    *,
    on_hand: float,
    on_order: float,
    daily_demand: Sequence[float],
    policy: Policy,
    settings: RuleSettings,
) -> float | None:
    """The σ of daily demand below which :func:`check_reorder` surely finds nothing.

    None when the rule does not use the history at all (the policy gives its reorder point);
    :data:`ALWAYS` when no σ can keep it quiet or the inputs are unusual (the rule decides).
    The rule finds nothing when ``position > LTD + z · σ · sqrt(lead time)``; with the margin,
    σ below ``(position − LTD − margin) / (z · sqrt(lead time))`` guarantees it.
    """
    if policy.reorder_point is not None:
        return None
    lead_time = policy.lead_time_days
    position = on_hand + on_order
    if not (math.isfinite(lead_time) and lead_time >= 0 and math.isfinite(position)):
        return ALWAYS
    ltd = lead_time_demand(daily_demand, lead_time)
    service_level = policy.service_level or settings.service_level
    if not (math.isfinite(ltd) and 0.5 <= service_level < 1):
        return ALWAYS
    room = position - ltd - MARGIN * (abs(position) + abs(ltd) + 1)
    spread = z_score(service_level) * math.sqrt(lead_time)
    if spread <= 0:
        # No safety stock whatever σ (lead time 0, or a 50 % service level).
        return math.inf if room > 0 else ALWAYS
    return room / spread if room > 0 else ALWAYS
