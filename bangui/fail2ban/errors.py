"""Typed errors of the fail2ban client."""

from __future__ import annotations


class Fail2banError(Exception):
    """Base class of every fail2ban client error."""


class Fail2banUnavailable(Fail2banError):
    """The socket is missing, refuses connections, or did not answer in time."""


class Fail2banBusy(Fail2banUnavailable):
    """The socket is there and takes connections, but fail2ban did not answer in time.

    fail2ban serves one command at a time: a long one (a batch ban that runs an
    action per address) keeps everyone else waiting. Slow is not gone.
    """


class Fail2banCommandError(Fail2banError):
    """fail2ban answered with an error; ``message`` is fail2ban's own text."""

    def __init__(self, message: str, remote_class: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.remote_class = remote_class

    @property
    def unknown_jail(self) -> bool:
        return (
            self.remote_class.endswith("UnknownJailException") or "does not exist" in self.message
        )


class Fail2banProtocolError(Fail2banError):
    """The reply could not be read (not a pickle we accept, or malformed)."""
