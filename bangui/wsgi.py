"""WSGI entry point: ``gunicorn -c gunicorn.conf.py bangui.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bangui.settings")

application = get_wsgi_application()

# gunicorn serves requests from threads: see bangui/threadlocals.py for why.
from bangui.threadlocals import use_thread_local_timezone  # noqa: E402 - needs settings

use_thread_local_timezone()
