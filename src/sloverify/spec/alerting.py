"""Alert models: burn rate over window pairs, budget consumed, plain thresholds, Sloth's tiers."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from sloverify.spec.base import Frozen, Op
from sloverify.spec.durations import Duration, DurationField


class AlertKind(StrEnum):
    """The kinds of alert rule a spec can ask for."""

    BURN_RATE = "burn_rate"
    BUDGET_CONSUMED = "budget_consumed"
    THRESHOLD = "threshold"


class BurnWindow(Frozen):
    """One burn-rate condition: the error ratio over ``long`` (and ``short``) above factor * budget."""

    long: DurationField
    short: DurationField | None = None
    factor: float = Field(gt=0)

    @model_validator(mode="after")
    def _short_is_shorter(self) -> BurnWindow:
        if self.short is not None and self.short >= self.long:
            raise ValueError(
                f"short window {self.short} must be shorter than long window {self.long}"
            )
        return self


class AlertBase(Frozen):
    """Fields every alert kind shares: name, severity, ``for`` and routing labels."""

    name: str = Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")
    severity: str = Field(default="page", pattern=r"^[a-zA-Z0-9_-]+$")
    for_: DurationField = Field(default=Duration.parse("0s"), alias="for")
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class BurnRateAlert(AlertBase):
    """Fires when any of its window conditions holds (Sloth ORs a page's two window pairs)."""

    kind: Literal[AlertKind.BURN_RATE] = AlertKind.BURN_RATE
    windows: tuple[BurnWindow, ...] = Field(min_length=1)


class BudgetConsumedAlert(AlertBase):
    """Fires when the error budget consumed over the SLO period reaches ``percent``."""

    kind: Literal[AlertKind.BUDGET_CONSUMED] = AlertKind.BUDGET_CONSUMED
    percent: float = Field(gt=0, le=1000)


class ThresholdTarget(StrEnum):
    """What a threshold alert compares: the SLO's own ratios, or a free query."""

    ERROR_RATIO = "error_ratio"
    GOOD_RATIO = "good_ratio"
    QUERY = "query"


class ThresholdAlert(AlertBase):
    """A plain threshold over a window: the SLI's ratio, or a query such as a lag gauge."""

    kind: Literal[AlertKind.THRESHOLD] = AlertKind.THRESHOLD
    target: ThresholdTarget = ThresholdTarget.ERROR_RATIO
    query: str | None = Field(default=None, description="for target: query; may use {{.window}}")
    window: DurationField
    op: Op
    value: float

    @model_validator(mode="after")
    def _consistent(self) -> ThresholdAlert:
        if (self.target is ThresholdTarget.QUERY) != (self.query is not None):
            raise ValueError("give query exactly when target is 'query'")
        if self.target is ThresholdTarget.ERROR_RATIO and self.op not in (Op.GT, Op.GE):
            raise ValueError(
                "an error_ratio threshold must use > or >= (it would fire when healthy)"
            )
        if self.target is ThresholdTarget.GOOD_RATIO and self.op not in (Op.LT, Op.LE):
            raise ValueError("a good_ratio threshold must use < or <= (it would fire when healthy)")
        if self.target is not ThresholdTarget.QUERY and not 0 < self.value < 1:
            raise ValueError(f"a ratio threshold must lie in (0, 1), got {self.value}")
        return self


Alert = Annotated[BurnRateAlert | BudgetConsumedAlert | ThresholdAlert, Field(discriminator="kind")]


class SlothAlertTier(Frozen):
    """Sloth's ``page_alert`` / ``ticket_alert`` block."""

    disable: bool = False
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class Alerting(Frozen):
    """Sloth's alerting block, plus ``alerts``: an explicit list that replaces the defaults."""

    name: str | None = Field(default=None, pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    page_alert: SlothAlertTier = SlothAlertTier()
    ticket_alert: SlothAlertTier = SlothAlertTier()
    alerts: tuple[Alert, ...] | None = None
