def test_health_reports_database_and_broker(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok" and response.json()["broker"] == "ok"


def test_health_says_503_when_the_broker_is_unreachable(client, db, settings):
    from navigator.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable" and response.json()["broker"] != "ok"
