"""Embedded default: no bucket configured -> a local fake-gcs-server in the instance folder."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import serialization

from storage.services import Services
from storage.settings import Settings
from tests.standins import images as samples
from tests.standins.gcs import verify_v4_signed_url


def embedded_settings(instance: Path) -> Settings:
    return Settings.from_env({}, dotenv_path=None, instance_path=instance)


def listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as the kernel shows them) with a listening TCP socket on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_embedded_mode_stores_through_gcs_in_the_instance_folder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    instance = tmp_path / "instance"
    data = samples.jpeg(1, size=(800, 600))
    caplog.set_level(logging.WARNING, logger="storage.services")
    services = Services.build(embedded_settings(instance))
    try:
        assert services.embedded is not None
        assert "EMBEDDED mode" in caplog.text and "trying CloudBox out" in caplog.text
        assert listening_addresses(services.embedded.port) == {"0100007F"}  # 127.0.0.1 only
        owner = services.accounts.ensure_account("1", "me@example.com")
        image = services.library.upload(owner, io.BytesIO(data), filename="first.jpg").image
        assert [i.id for i in services.library.list(owner).images] == [image.id]

        url = services.library.original_url(image)
        info = json.loads((instance / "embedded-signing-key.json").read_text())
        public_key = serialization.load_pem_private_key(info["private_key"].encode(), None).public_key()
        verify_v4_signed_url(url, public_key)  # type: ignore[arg-type]
        assert requests.get(url, timeout=5).content == data

        stored = [p for p in (instance / "gcs").rglob("*") if p.is_file()]
        assert stored, "the filesystem backend keeps objects in the instance folder"
        assert (instance / "cloudbox.sqlite3").is_file()
        port = services.embedded.port
    finally:
        services.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/storage/v1/b", timeout=2)


def test_embedded_library_survives_a_restart(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    data = samples.png(9)
    first = Services.build(embedded_settings(instance))
    try:
        owner = first.accounts.ensure_account("1", "me@example.com")
        image = first.library.upload(owner, io.BytesIO(data), filename="kept.png").image
    finally:
        first.close()
    second = Services.build(embedded_settings(instance))
    try:
        assert [i.id for i in second.library.list(owner).images] == [image.id]
        assert second.blobs.read(image.object_name) == data
        assert requests.get(second.library.preview_url(image), timeout=5).status_code == 200
    finally:
        second.close()


def test_embedded_start_page_says_it_is_for_trying_out(tmp_path: Path) -> None:
    from web_oauth import create_app

    services = Services.build(embedded_settings(tmp_path / "instance"))
    try:
        client = create_app(services=services, test_config={"TESTING": True}).test_client()
        page = client.get("/").get_data(as_text=True)
        assert "Embedded mode" in page
        assert client.get("/readyz").status_code == 200
    finally:
        services.close()


def test_services_stop_the_embedded_store_when_start_up_fails(tmp_path: Path) -> None:
    settings = embedded_settings(tmp_path / "instance").with_overrides(
        database_url="postgresql://x@127.0.0.1:1/x"
    )
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises
        Services.build(settings)
    leftovers = [p for p in Path("/proc").glob("[0-9]*") if _runs_fake_gcs_in(p, tmp_path)]
    assert leftovers == []


def _runs_fake_gcs_in(proc: Path, root: Path) -> bool:
    try:
        return str(root) in (proc / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
