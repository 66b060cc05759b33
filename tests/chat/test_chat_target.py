"""How `presence-sync chat` finds the demo's sandbox, and what it says when it cannot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from presence_sync.chat import ChatError, find_target


def test_the_demo_folder_names_the_sandbox_and_its_ca(tmp_path: Path) -> None:
    (tmp_path / "sandbox").mkdir()
    ca = tmp_path / "sandbox" / "ca.pem"
    ca.write_text("a CA")
    config = {"base_url": "https://localhost:8443/", "ca_file": str(ca), "bot_app_secret": "x"}
    (tmp_path / "sandbox" / "sandbox-config.json").write_text(json.dumps(config))

    found = find_target(tmp_path)

    assert (found.base_url, found.ca_file) == ("https://localhost:8443", str(ca))
    assert found.found_in.endswith("sandbox-config.json")


def test_a_config_that_is_not_json_is_named(tmp_path: Path) -> None:
    (tmp_path / "sandbox-config.json").write_text("{not json")

    with pytest.raises(ChatError, match=r"sandbox-config.json: not a sandbox config") as caught:
        find_target(tmp_path)
    assert caught.value.code == 2


def test_a_config_whose_ca_file_is_gone_says_so(tmp_path: Path) -> None:
    gone = tmp_path / "elsewhere" / "ca.pem"
    config = {"base_url": "https://localhost:8443", "ca_file": str(gone)}
    (tmp_path / "sandbox-config.json").write_text(json.dumps(config))

    with pytest.raises(ChatError, match=f"names the CA file {gone}, which does not exist"):
        find_target(tmp_path)


def test_a_named_sandbox_needs_its_ca_file(tmp_path: Path) -> None:
    with pytest.raises(ChatError, match=r"--ca: the sandbox's CA file is needed"):
        find_target(tmp_path, "https://localhost:9443")
    with pytest.raises(ChatError, match=r"--ca: no such file .*missing.pem"):
        find_target(tmp_path, "https://localhost:9443", tmp_path / "missing.pem")

    ca = tmp_path / "ca.pem"
    ca.write_text("a CA")
    found = find_target(tmp_path, "https://localhost:9443/", ca)
    assert (found.base_url, found.ca_file, found.found_in) == (
        "https://localhost:9443",
        str(ca),
        "--sandbox",
    )
