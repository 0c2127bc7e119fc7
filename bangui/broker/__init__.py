"""The root broker: the only process that talks to fail2ban.

BanGUI's web app and jobs run as an unprivileged user. They reach fail2ban
through this small root process, over its own Unix socket, with a versioned
JSON protocol (``wire``) that carries an allow-list of operations (``ops``),
each validated here again, whatever the caller checked. It never imports
Django (``__main__`` blocks the import), so a flaw in the web stack is not
a flaw in here.

- ``wire``: frames (length-prefixed JSON), requests, replies, error kinds.
- ``ops``: the operations and their validation; nothing else can be asked.
- ``server``: the socket server, peer checks (``SO_PEERCRED``), ``--stdio``.
- ``client``: ``BrokerClient``, the web's side, with ``Fail2banClient``'s methods.
"""
