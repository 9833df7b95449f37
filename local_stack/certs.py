"""A self-signed TLS certificate for the local Azurite, made at start-up and never committed.

Azurite takes Bearer tokens only over HTTPS, so the local stack needs a certificate. Clients trust it
through a *combined* CA bundle (the system's CAs plus this one certificate) named by
``REQUESTS_CA_BUNDLE``, which azure-core's transport honours: replacing the system bundle with the
local certificate alone would break every other HTTPS call in the process.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

LOOPBACK_NAMES = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class LocalCertificate:
    cert: Path
    key: Path
    ca_bundle: Path  # the system CAs + ``cert``


def system_ca_bundle() -> Path:
    """The CA bundle this process trusts today (what ``REQUESTS_CA_BUNDLE`` or certifi names)."""
    preset = os.environ.get("REQUESTS_CA_BUNDLE")
    if preset and Path(preset).is_file():
        return Path(preset)
    import certifi

    return Path(certifi.where())


def make_certificate(directory: Path, *, days: int = 7) -> LocalCertificate:
    """Write ``cert.pem``, ``key.pem`` and ``ca-bundle.pem`` for 127.0.0.1/localhost into ``directory``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    # A name of its own: OpenSSL finds a certificate's issuer by name, so two stacks' certificates with
    # one name in one bundle (a stack started from another's environment) would shadow each other.
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"stt local stack {secrets.token_hex(6)}")])
    now = datetime.datetime.now(datetime.UTC)
    alt_names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path, bundle_path = directory / "cert.pem", directory / "key.pem", directory / "ca-bundle.pem"
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    cert_path.write_bytes(cert_pem)
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    system = system_ca_bundle().read_bytes()
    bundle_path.write_bytes(system.rstrip(b"\n") + b"\n" + cert_pem)
    return LocalCertificate(cert_path, key_path, bundle_path)
