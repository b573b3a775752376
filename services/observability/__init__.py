"""What every process tells an operator: Prometheus metrics and (optionally) OpenTelemetry traces.

``metrics`` names every metric once (deploy/observability's dashboard and alert rules are checked against
it); ``http`` instruments the API; ``tracing`` is the optional OpenTelemetry wiring (extra ``tracing``).
"""
