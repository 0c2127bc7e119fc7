"""The BanGUI demo: a private fail2ban with three real jails under a stream of attacks.

Run ``python -m bangui.demo`` (``scripts/demo`` does, and starts BanGUI next
to it). It starts a :class:`~bangui.demo.lab.Fail2banLab` whose jails use
Debian's own filters (``sshd``, ``nginx-http-auth``, and ``postfix[mode=auth]``
as the ``postfix-sasl`` jail), then appends realistic failure lines to their
log files until SIGINT/SIGTERM, so BanGUI shows live failures and bans. The
lab has no firewall action: bans exist only inside fail2ban.

Every line template below was checked with ``fail2ban-regex`` against the
filters of fail2ban 1.0.2 (Debian 12); ``--once N`` checks them end to end,
since it waits until fail2ban has counted all N failures.

The attackers are a fixed pool of public-looking IPv4 and IPv6 addresses,
grouped in a few dozen networks and drawn from a seeded RNG, so every run
shows the same cast; a handful of "heavy hitters" come back again and again.
"""
