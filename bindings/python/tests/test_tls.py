"""TLS (rediss:// and the tls_* options) and credentials against a real TLS-only server with
an ACL user; certificates come from the harness."""

from __future__ import annotations

import subprocess
from typing import Any, Dict

import pytest

import slotwise
from slotwise._url import parse

PASSWORD = "pw-Old-5e1"
NEW_PASSWORD = "pw-New-9c2"


@pytest.fixture(scope="module")
def tls_server() -> Any:
    from conftest import harness

    d = harness("start-standalone", "--tls", "--user", f"app:{PASSWORD}")
    yield d
    harness("stop", "--dir", d["dir"])


def tls_opts(d: Dict[str, Any], **extra: Any) -> Dict[str, Any]:
    t = d["tls"]
    return {"tls_ca_file": t["ca"], "tls_cert_file": t["cert"], "tls_key_file": t["key"],
            "username": "app", "password": PASSWORD, **extra}


def cli(d: Dict[str, Any], *args: str) -> str:
    """redis-cli over TLS as the default user (CLIENT commands are not for a shared connection)."""
    host, _, port = d["seeds"][0].rpartition(":")
    t = d["tls"]
    out = subprocess.run(["redis-cli", "-h", host, "-p", port, "--tls", "--cacert", t["ca"],
                          "--cert", t["cert"], "--key", t["key"], *args],
                         capture_output=True, text=True, timeout=30, check=True)
    return out.stdout.strip()


def test_verified_tls_and_rediss_url(tls_server: Dict[str, Any], key: Any) -> None:
    addr = tls_server["seeds"][0]
    with slotwise.Client.standalone(addr, decode_responses=True, **tls_opts(tls_server)) as r:
        assert r.set(key("t"), "v") is True
        assert r.get(key("t")) == "v"
    t = tls_server["tls"]
    url = (f"rediss://app:{PASSWORD}@{addr}/0?tls_ca_file={t['ca']}&tls_cert_file={t['cert']}"
           f"&tls_key_file={t['key']}&tls_server_name=localhost&decode_responses=1")
    with slotwise.connect(url) as r:
        assert r.get(key("t")) == "v"


def test_wrong_ca_and_name_fail_clearly(tls_server: Dict[str, Any]) -> None:
    addr = tls_server["seeds"][0]
    bad_ca = tls_opts(tls_server, tls_ca_file=tls_server["tls"]["untrusted_ca"])
    with pytest.raises(slotwise.ConnectionError, match="certificate") as e:
        slotwise.Client.standalone(addr, connect_timeout=3.0, **bad_ca)
    assert PASSWORD not in str(e.value)
    with pytest.raises(slotwise.ConnectionError, match="not valid for name"):
        slotwise.Client.standalone(addr, connect_timeout=3.0,
                                   **tls_opts(tls_server, tls_server_name="wrong.invalid"))
    # Plain TCP to a TLS port: a clear connection error, not a hang.
    with pytest.raises(slotwise.ConnectionError):
        slotwise.Client.standalone(addr, connect_timeout=3.0, username="app", password=PASSWORD)
    with pytest.raises(ValueError, match="tls=False"):
        slotwise.Client.standalone(addr, tls=False, tls_ca_file="x")
    with pytest.raises(slotwise.InvalidArgumentError, match="ca_file"):
        slotwise.Client.standalone(addr, tls_ca_file="/nonexistent/ca.pem")


def test_password_rotation_and_redaction(tls_server: Dict[str, Any], key: Any) -> None:
    addr = tls_server["seeds"][0]
    r = slotwise.Client.standalone(addr, decode_responses=True, **tls_opts(tls_server))
    try:
        assert PASSWORD not in repr(r)
        assert cli(tls_server, "ACL", "SETUSER", "app", ">" + NEW_PASSWORD) == "OK"
        r.update_credentials("app", NEW_PASSWORD)
        assert cli(tls_server, "ACL", "SETUSER", "app", "<" + PASSWORD) == "OK"
        assert int(cli(tls_server, "CLIENT", "KILL", "USER", "app")) >= 1
        # Reads are resent on a new connection, authenticated with the new password.
        for _ in range(20):
            assert r.get(key("rot")) is None
        assert " user=app " in cli(tls_server, "CLIENT", "LIST")
    finally:
        cli(tls_server, "ACL", "SETUSER", "app", ">" + PASSWORD)
        r.close()
    with pytest.raises(slotwise.AuthenticationError) as e:
        slotwise.Client.standalone(addr, **tls_opts(tls_server, password="not-" + PASSWORD))
    assert PASSWORD not in str(e.value) and PASSWORD not in repr(e.value)
    with pytest.raises(slotwise.ClosedError):
        r.update_credentials("app", NEW_PASSWORD)


def test_url_forms_parsed_by_the_core() -> None:
    t = parse("rediss+cluster://u:p%40ss@h1:7000,h2?tls_server_name=redis.local&tls_insecure_skip_verify=yes")
    assert t.cluster and t.addresses == ["h1:7000", "h2:6379"]
    assert t.options == {"username": "u", "password": "p@ss", "tls": True,
                         "tls_server_name": "redis.local", "tls_insecure_skip_verify": True}
    t = parse("rediss+sentinel://s1,s2:5000/mymaster/2")
    assert t.service == "mymaster" and t.addresses == ["s1:26379", "s2:5000"]
    assert t.options == {"db": 2, "tls": True}
    with pytest.raises(ValueError) as e:
        parse("redis://u:hunter2@h:1/notanumber")
    assert "hunter2" not in str(e.value)
