"""The metric and label names well-known exporters emit, so lint can check selectors."""

from __future__ import annotations

from sloverify.spec import Exporter

# Labels Prometheus itself attaches to every scraped series.
TARGET_LABELS = frozenset({"job", "instance"})

_STARLETTE = ("app_name", "method", "path", "status_code")
_INSTRUMENTATOR = ("handler", "method", "status")

KNOWN: dict[Exporter, dict[str, tuple[str, ...]]] = {
    # starlette_exporter (PrometheusMiddleware): requests, latency histogram, in-progress gauge.
    Exporter.STARLETTE_EXPORTER: {
        "starlette_requests_total": _STARLETTE,
        "starlette_request_duration_seconds_bucket": (*_STARLETTE, "le"),
        "starlette_request_duration_seconds_count": _STARLETTE,
        "starlette_request_duration_seconds_sum": _STARLETTE,
        "starlette_requests_in_progress": ("app_name", "method"),
    },
    Exporter.PROMETHEUS_FASTAPI_INSTRUMENTATOR: {
        "http_requests_total": _INSTRUMENTATOR,
        "http_request_duration_seconds_bucket": ("handler", "method", "le"),
        "http_request_duration_seconds_count": ("handler", "method"),
        "http_request_duration_seconds_sum": ("handler", "method"),
    },
    Exporter.KUBE_STATE_METRICS: {
        "kube_pod_container_status_restarts_total": ("namespace", "pod", "container", "uid"),
        "kube_pod_status_ready": ("namespace", "pod", "uid", "condition"),
    },
}


def metric_labels(
    exporter: Exporter, custom: dict[str, tuple[str, ...]], metric: str
) -> tuple[str, ...] | None:
    """The labels ``exporter`` puts on ``metric``; None when it does not emit that metric."""
    table = custom if exporter is Exporter.CUSTOM else KNOWN.get(exporter, {})
    if metric in table:
        return table[metric]
    for suffix in ("_bucket", "_count", "_sum"):
        base = metric.removesuffix(suffix)
        if base != metric and base in table:
            return (*table[base], "le") if suffix == "_bucket" else table[base]
    return None
