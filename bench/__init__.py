"""BanGUI's benchmarks: ``python -m bench`` (or ``scripts/bench``).

Every benchmark runs against a private fail2ban-server (``Fail2banLab``) and
measures BanGUI next to a baseline in the same run. Add one by writing a
function ``(BenchContext) -> list[Row]`` and listing it in ``registry.py``.
Timings are reported, never asserted in tests.
"""
