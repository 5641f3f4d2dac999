"""A base SLI's recorded ratio skips a moment without requests instead of recording NaN.

The windows of a base SLI average its recorded series (``avg_over_time``); one NaN sample
makes every window holding it NaN, so a 0/0 (a scrape gap, a moment without traffic) would
blind the 1h ticket for an hour and the 30d budget alert for 30 days. Proven with promtool
on the rules generated for maestro's availability SLO (a ``[5m]`` base SLI).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sloverify.adapters.promtool import Promtool
from sloverify.rules.generate import generate
from sloverify.rules.render import rule_file
from sloverify.spec import load_spec
from tests.conftest import STACKS

_SELECTOR = (
    'sloth_id="maestro-api-availability",sloth_service="maestro-api",sloth_slo="availability"'
)
# 20 minutes without a request (both counters flat), then 1 error in 10 requests a minute.
_TESTS = """rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'http_requests_total{{service="maestro-api",path="/api/maestro/v1/runs",method="GET",code="200"}}'
        values: '0x20 9+9x40'
      - series: 'http_requests_total{{service="maestro-api",path="/api/maestro/v1/runs",method="GET",code="503"}}'
        values: '0x20 1+1x40'
    promql_expr_test:
      - expr: 'count(slo:sli_error:ratio_base{{{sel}}} != slo:sli_error:ratio_base{{{sel}}})'
        eval_time: 10m
        exp_samples: []
      - expr: 'round(slo:sli_error:ratio_rate1h{{{sel}}}, 0.001)'
        eval_time: 60m
        exp_samples:
          - labels: '{{{sel},sloth_window="1h",team="maestro"}}'
            value: 0.1
"""


@pytest.mark.usefixtures("promtool")
def test_no_traffic_records_no_sample_and_leaves_the_windows_finite(tmp_path: Path) -> None:
    spec = load_spec(STACKS / "maestro" / "slo-api.yaml").spec
    groups = [g for r in generate(spec) for g in r.groups if "availability" in g.name]
    (tmp_path / "rules.yml").write_text(rule_file(groups, "test"), encoding="utf-8")
    (tmp_path / "test.yml").write_text(_TESTS.format(sel=_SELECTOR), encoding="utf-8")
    ok, output = Promtool().test_rules(tmp_path, "test.yml")
    assert ok, output
