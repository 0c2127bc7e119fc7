"""WSGI entry point: ``gunicorn -c gunicorn.conf.py bangui.wsgi``."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from bangui.subpath import WSGIApp, strip_prefix

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bangui.settings")

application: WSGIApp = get_wsgi_application()

# Behind a proxy that passes the sub-path on (BANGUI_URL_PREFIX): see bangui/subpath.py.
application = strip_prefix(application, settings.FORCE_SCRIPT_NAME or "")

# gunicorn serves requests from threads: see bangui/threadlocals.py for why.
from bangui.threadlocals import use_thread_local_timezone  # noqa: E402 - needs settings

use_thread_local_timezone()
