"""Monitoring as code: Grafana dashboards, and a local Prometheus for developers."""
