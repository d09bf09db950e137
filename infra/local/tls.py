"""A local certificate authority and the broker's certificate, as the PEM files Kafka reads.

Generated once into the stack's home (never committed) and reused while they exist. ECDSA
P-256 keeps handshakes cheap on a 2-core machine. The broker's certificate serves both its
listeners and is also its client certificate on the controller listener (mutual TLS), so it
carries serverAuth and clientAuth.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .credentials import write_private

BROKER_CN = "tsunagu-broker"  # the broker's principal on the controller listener: User:CN=...
HOSTS = ("localhost", "kafka")  # `kafka` is the broker's name in infra/deploy/compose.yaml
VALID = dt.timedelta(days=825)


def ensure(tls_dir: Path) -> tuple[Path, Path]:
    """Return (ca.pem, broker.pem), creating them when missing. broker.pem holds key + chain."""
    ca_pem, broker_pem = tls_dir / "ca.pem", tls_dir / "broker.pem"
    if ca_pem.exists() and broker_pem.exists():
        return ca_pem, broker_pem
    tls_dir.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tsunagu local CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + VALID)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(h) for h in HOSTS]
    names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, BROKER_CN)]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + VALID)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    # Kafka's PEM key store reads an unencrypted PKCS#8 key when no ssl.key.password is set;
    # the file is readable by this user only, as a JKS password would be kept anyway.
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    write_private(broker_pem, key_pem + cert.public_bytes(pem) + ca.public_bytes(pem))
    # The CA's key is not kept: a new broker certificate means a new CA (start over).
    ca_pem.write_bytes(ca.public_bytes(pem))
    return ca_pem, broker_pem


if __name__ == "__main__":  # e.g. python -m infra.local.tls infra/deploy/tls (for compose)
    import sys

    for path in ensure(Path(sys.argv[1])):
        print(path)
