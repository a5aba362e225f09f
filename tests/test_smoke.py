import io

from tests.standins import images


def test_upload_and_list_roundtrip(services):
    owner = services.accounts.ensure_account("1001", "a@example.com")
    up = services.library.upload(owner, io.BytesIO(images.png(1)), filename="cat.png")
    assert up.created
    page = services.library.list(owner)
    assert [i.id for i in page.images] == [up.image.id]


def test_health(client):
    assert client.get("/healthz").status_code == 200
    r = client.get("/readyz")
    assert r.status_code == 200, r.json
    assert client.get("/").status_code == 200
