"""The kms_port_probe lookup tells an open port, a refused connection and no answer apart (issue 11 item 9)."""

from __future__ import annotations

import socket
import typing as t

import pytest

from ansible_collections.winops.volume_activation.plugins.lookup import kms_port_probe


def test_open_port() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        result = kms_port_probe.probe("127.0.0.1", port, 2)
    assert (result["state"], result["error"]) == ("open", "")


def test_refused_connection_is_tried_until_the_timeout() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, not listening: the kernel answers with a reset
        result = kms_port_probe.probe("127.0.0.1", port, 0.6)
    assert result["state"] == "refused"
    assert result["seconds"] >= 0.5


def test_no_answer_is_a_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    def silent(*_args: t.Any, **_kwargs: t.Any) -> socket.socket:
        raise TimeoutError("timed out")

    monkeypatch.setattr(kms_port_probe.socket, "create_connection", silent)
    assert kms_port_probe.probe("kms01.example.test", 1688, 1)["state"] == "timeout"


def test_unresolved_name(monkeypatch: pytest.MonkeyPatch) -> None:
    def unknown(*_args: t.Any, **_kwargs: t.Any) -> socket.socket:
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(kms_port_probe.socket, "create_connection", unknown)
    result = kms_port_probe.probe("nowhere.invalid", 1688, 1)
    assert (result["state"], result["error"]) == ("unresolved", "[Errno -2] Name or service not known")
