"""The application with the production settings, serving bench/load_urls.py (its URLs plus the baseline)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navigator.settings")

from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
settings.ROOT_URLCONF = "bench.load_urls"
