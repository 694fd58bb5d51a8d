import json
import urllib.request


def test_healthz_answers_over_http(live_app):
    with urllib.request.urlopen(f"{live_app.url}/healthz") as response:
        assert response.status == 200
        assert json.load(response) == {"status": "ok", "database": "ok"}
