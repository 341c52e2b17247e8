"""Certificates for --tls deployments, made with the openssl CLI: one CA per deployment, a
certificate per node IP (made when a node first starts on that IP), a client certificate, and
a second CA that signed nothing (for tests that must fail verification)."""

from __future__ import annotations

import os
import random
import ssl
import subprocess

from .procs import HarnessError

OPENSSL = os.environ.get("SLOTWISE_OPENSSL", "openssl")
DAYS = "7"


def _run(args: list, cwd: str) -> None:
    try:
        p = subprocess.run([OPENSSL, *args], cwd=cwd, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise HarnessError("--tls needs the openssl command (Debian package openssl)") from None
    if p.returncode != 0:
        raise HarnessError(f"openssl {args[0]} failed: {p.stderr.strip()}")


def _self_signed_ca(d: str, name: str) -> None:
    _run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
          "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", DAYS,
          "-subj", f"/CN=slotwise test {name}"], d)


def _signed(d: str, name: str, cn: str, sans: list) -> None:
    """NAME.crt/NAME.key signed by the deployment's CA, for SANS (IP:... / DNS:...)."""
    ext = os.path.join(d, f"{name}.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                # Cluster nodes and replicas use their certificate both ways.
                "extendedKeyUsage=serverAuth,clientAuth\n"
                + (f"subjectAltName={','.join(sans)}\n" if sans else ""))
    _run(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
          "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}"], d)
    _run(["x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
          "-set_serial", str(random.getrandbits(63)), "-days", DAYS, "-extfile", ext,
          "-out", f"{name}.crt"], d)


def make_tls(state: dict) -> dict:
    """Create the deployment's CA, client certificate and untrusted CA; returns the paths
    kept in state['options']['tls']."""
    d = os.path.join(state["dir"], "tls")
    os.makedirs(d, exist_ok=True)
    _self_signed_ca(d, "ca")
    _self_signed_ca(d, "untrusted-ca")
    _signed(d, "client", "slotwise-test-client", [])
    return {"dir": d, "ca": os.path.join(d, "ca.crt"), "cert": os.path.join(d, "client.crt"),
            "key": os.path.join(d, "client.key"),
            "untrusted_ca": os.path.join(d, "untrusted-ca.crt")}


def node_cert(state: dict, host: str) -> tuple:
    """(cert, key) for a node listening on HOST: its IP, 127.0.0.1 and localhost."""
    d = state["options"]["tls"]["dir"]
    name = "node-" + host.replace(".", "-")
    crt = os.path.join(d, name + ".crt")
    if not os.path.exists(crt):
        sans = sorted({f"IP:{host}", "IP:127.0.0.1"}) + ["DNS:localhost"]
        _signed(d, name, host, sans)
    return crt, os.path.join(d, name + ".key")


def server_tls_args(state: dict, node: dict) -> list:
    """redis-server / redis-sentinel options for a TLS-only node (no plain port)."""
    tls = state["options"]["tls"]
    crt, key = node_cert(state, node["host"])
    args = ["--port", "0", "--tls-port", str(node["port"]), "--tls-cert-file", crt,
            "--tls-key-file", key, "--tls-ca-cert-file", tls["ca"],
            # Clients must show a certificate signed by the CA: tests prove the client's.
            "--tls-auth-clients", "yes", "--tls-replication", "yes"]
    if state["kind"] == "cluster" and node["role"] != "sentinel":
        args += ["--tls-cluster", "yes", "--cluster-port", str(node["port"] + 10000)]
    return args


_contexts: dict = {}


def client_context(tls: dict) -> ssl.SSLContext:
    ctx = _contexts.get(tls["ca"])
    if ctx is None:
        ctx = ssl.create_default_context(cafile=tls["ca"])
        ctx.load_cert_chain(tls["cert"], tls["key"])
        _contexts[tls["ca"]] = ctx
    return ctx
