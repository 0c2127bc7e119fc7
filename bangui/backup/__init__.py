"""Backups of BanGUI's database: ``manage.py backup`` and ``manage.py restore``.

``sqlite`` holds the SQLite mechanics (a consistent online copy, checks),
``services`` the backup, ``restore`` the restore. docs/backups.md is the
operator's side.
"""
