# The real-worker fixtures of the reminders' tests: a purged Redis broker, workers killed at the end,
# and the rows of data migrations put back after a transactional test.
from scheduling.tests.test_celery_worker import broker, seed_rows, workers  # noqa: F401 - fixtures
