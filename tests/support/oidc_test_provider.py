"""A real OpenID Connect provider for the tests: npm ``oidc-provider`` (tests/support/oidc_provider.mjs)
on HTTPS on a free port, with a static confidential client and accounts with roles.

The test generates everything the provider uses: its TLS certificate (self-signed for 127.0.0.1,
trusted by the app through ``ENTRA_CA_BUNDLE``) and its RS256 signing key, so a test can mint
tokens the provider could have issued (expired, for another audience) and ones it could not
(signed by a stranger's key).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from localdev.azurite import free_port, wait_for_port

SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
MOUNT = "/oidc"
CLIENT_ID = "edgeloop-global"
CLIENT_SECRET = "test-client-secret-not-a-real-one"
KEY_ID = "provider-key-1"
# Login name -> the account's name and app roles (values of the ``roles`` claim).
ACCOUNTS = {
    "ana": {"name": "Ana Reader", "roles": ["reader"]},
    "ada": {"name": "Ada Admin", "roles": ["admin"]},
    "nobody": {"name": "No Role", "roles": []},
}


@dataclass
class OidcTestProvider:
    issuer: str
    ca_bundle: Path
    signing_key: rsa.RSAPrivateKey
    process: subprocess.Popen[bytes]

    def mint(self, key: Any = None, *, kid: str = KEY_ID, **overrides: Any) -> str:
        """A token as this provider signs them (``key``: another signer), claims overridable."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "ana",
            "name": "Ana Reader",
            "roles": ["reader"],
        }
        claims.update({"iat": now, "nbf": now, "exp": now + 600, **overrides})
        return jwt.encode(claims, key or self.signing_key, algorithm="RS256", headers={"kid": kid})


def _self_signed_tls(directory: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / "tls-key.pem", directory / "tls-cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def _private_jwk(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    return {**jwk, "kid": KEY_ID, "use": "sig", "alg": "RS256"}


@contextmanager
def running_provider(directory: Path, app_base_url: str) -> Iterator[OidcTestProvider]:
    """The provider, its client redirecting to ``app_base_url``; stopped on exit."""
    node = shutil.which("node")
    assert node, "node is needed for the OpenID Connect test provider (make install)"
    port = free_port()
    key_path, cert_path = _self_signed_tls(directory)
    signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    client = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [f"{app_base_url}/auth/callback"],
        "post_logout_redirect_uris": [f"{app_base_url}/auth/signed-out"],
        "response_types": ["code"],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "client_secret_post",
    }
    config = {
        "port": port,
        "mount": MOUNT,
        "tls": {"key": str(key_path), "cert": str(cert_path)},
        "jwks": {"keys": [_private_jwk(signing_key)]},
        "clients": [client],
        "accounts": ACCOUNTS,
    }
    config_path = directory / "provider.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    log = (directory / "provider.log").open("wb")
    process = subprocess.Popen([node, str(SCRIPT), str(config_path)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        yield OidcTestProvider(f"https://127.0.0.1:{port}{MOUNT}", cert_path, signing_key, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
