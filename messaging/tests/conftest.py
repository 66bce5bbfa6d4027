import pytest


@pytest.fixture
def world(db):
    """The shared world, with the default indication restored if a transactional test flushed it."""
    from cases.models import Indication
    from navigator.testing import make_world

    Indication.objects.get_or_create(
        code="b-all-cd19-car-t", defaults={"name": "Relapsed/refractory B-cell ALL: CD19 CAR-T"}
    )
    return make_world()


@pytest.fixture(autouse=True)
def _documents(settings, tmp_path):
    settings.DOCUMENT_UPLOAD_DIR = str(tmp_path / "uploads")
