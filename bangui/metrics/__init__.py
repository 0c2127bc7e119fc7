"""Prometheus metrics at /metrics: fail2ban's counters under the exporter's names, and BanGUI's.

``collect`` puts the registry together (it reads the apps: a composition root),
``views`` serves it behind ``access``; the other modules are the core's parts.
"""
