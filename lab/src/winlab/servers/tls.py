"""Certificates for the lab's HTTPS listeners, made with ``cryptography``.

Each simulated host gets its own server certificate whose subjectAltName lists its host names and
IP addresses, as a WinRM HTTPS listener's certificate does. The certificates are issued by a
self-signed lab CA kept in the state directory, so a client can either ignore validation (what
``ansible_winrm_server_cert_validation: ignore`` does against a self-signed Windows listener) or
validate properly by trusting ``ca.pem`` (``ansible_winrm_ca_trust_path``).

Keys are ECDSA P-256 (signature SHA-256): generating one takes about a millisecond, so a fleet of
hundreds of hosts starts fast. RFC 5929 channel bindings then hash the certificate with SHA-256.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import os
import pathlib
import ssl
import typing as t

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = dt.timedelta(days=825)


@dataclasses.dataclass(frozen=True)
class CertificateFiles:
    """A certificate and its key on disk, and the certificate's DER bytes (for channel bindings)."""

    cert_path: pathlib.Path
    key_path: pathlib.Path
    der: bytes


def _write_private(path: pathlib.Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def ensure_ca(directory: pathlib.Path, *, common_name: str = "winlab CA") -> CertificateFiles:
    """The lab CA in ``directory`` (``ca.pem``, ``ca.key``), created on first use and reused after."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "ca.pem", directory / "ca.key"
    if cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        return CertificateFiles(cert_path, key_path, cert.public_bytes(serialization.Encoding.DER))
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return CertificateFiles(cert_path, key_path, cert.public_bytes(serialization.Encoding.DER))


def issue_server_certificate(
    directory: pathlib.Path,
    file_stem: str,
    *,
    host_names: t.Sequence[str],
    addresses: t.Sequence[str],
    ca: CertificateFiles,
) -> CertificateFiles:
    """A server certificate for one host, signed by ``ca``: CN = the first host name,
    SAN = every host name (DNS) and address (IP), EKU serverAuth. Written as
    ``<file_stem>.pem`` (leaf then CA, the chain a TLS server sends) and ``<file_stem>.key``."""
    if not host_names and not addresses:
        raise ValueError("a server certificate needs at least one host name or address")
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = serialization.load_pem_private_key(ca.key_path.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{ca.key_path} is not the lab CA's EC key")
    ca_cert = x509.load_der_x509_certificate(ca.der)
    key = ec.generate_private_key(ec.SECP256R1())
    common_name = host_names[0] if host_names else addresses[0]
    sans: list[x509.GeneralName] = [x509.DNSName(name) for name in dict.fromkeys(host_names)]
    sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in dict.fromkeys(addresses)]
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{file_stem}.pem", directory / f"{file_stem}.key"
    _write_private(key_path, _key_pem(key))
    cert_path.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
    )
    return CertificateFiles(cert_path, key_path, cert.public_bytes(serialization.Encoding.DER))


def server_context(files: CertificateFiles) -> ssl.SSLContext:
    """A TLS server context presenting ``files`` (TLS 1.2 minimum, as current Windows defaults)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files.cert_path, files.key_path)
    return context
