"""Raw signature checks with ``cryptography``: PEM keys, certificates, base64.

Kept apart from DSSE so the Sigstore code can reuse the same primitives; every
function answers a plain bool or None instead of raising, because a bad key or
a bad signature is a verdict about the evidence, not a bug.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey

_B64 = re.compile(r"[A-Za-z0-9+/\-_]*={0,2}")


def b64decode(text: object) -> bytes | None:
    """Standard or URL-safe base64, padded or not (DSSE allows all four); None if it is not base64."""
    if not isinstance(text, str) or not _B64.fullmatch(text):
        return None
    if "-" in text or "_" in text:
        if "+" in text or "/" in text:
            return None  # a mix of both alphabets is no base64 at all
        text = text.replace("-", "+").replace("_", "/")
    stripped = text.rstrip("=")
    if len(stripped) % 4 == 1:
        return None
    try:
        return base64.b64decode(stripped + "=" * (-len(stripped) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _usable(key: PublicKeyTypes) -> PublicKey | None:
    if isinstance(key, ed25519.Ed25519PublicKey | rsa.RSAPublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key
    return None


@lru_cache(maxsize=256)
def load_public_key(pem: str) -> PublicKey | None:
    """A trusted key from PEM: a SubjectPublicKeyInfo or a certificate; None if unreadable."""
    data = pem.encode()
    try:
        if b"CERTIFICATE" in data:
            return _usable(x509.load_pem_x509_certificate(data).public_key())
        return _usable(serialization.load_pem_public_key(data))
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None


def load_der_public_key(der: bytes) -> PublicKey | None:
    """A SubjectPublicKeyInfo in DER (how trust roots carry log keys); None if unreadable."""
    try:
        return _usable(serialization.load_der_public_key(der))
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None


def load_certificate(raw: bytes) -> x509.Certificate | None:
    """A certificate from DER or PEM bytes; None if unreadable."""
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(raw)
        return x509.load_der_x509_certificate(raw)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None


def certificate_key(cert: x509.Certificate) -> PublicKey | None:
    try:
        return _usable(cert.public_key())
    except (ValueError, UnsupportedAlgorithm):
        return None


def _ec_hash(key: ec.EllipticCurvePublicKey) -> hashes.HashAlgorithm:
    """The hash that goes with the curve (P-256 -> SHA-256), as Sigstore and DSSE signers use."""
    size = key.curve.key_size
    if size > 384:
        return hashes.SHA512()
    if size > 256:
        return hashes.SHA384()
    return hashes.SHA256()


def ecdsa_forms(key: ec.EllipticCurvePublicKey, signature: bytes) -> tuple[bytes, ...]:
    """The signature as DER, and, when it has the IEEE P1363 length (r||s, as cloud KMS
    signers and WebCrypto emit), re-encoded from that form to DER."""
    size = (key.curve.key_size + 7) // 8
    if len(signature) != 2 * size:
        return (signature,)
    r, s = int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
    return (signature, encode_dss_signature(r, s))


def _verify_ec(
    key: ec.EllipticCurvePublicKey,
    signature: bytes,
    message: bytes,
    algorithm: hashes.HashAlgorithm | Prehashed,
) -> bool:
    for form in ecdsa_forms(key, signature):
        try:
            key.verify(form, message, ec.ECDSA(algorithm))
        except (InvalidSignature, ValueError, TypeError):
            continue
        return True
    return False


def verify(key: PublicKey, signature: bytes, message: bytes) -> bool:
    """Ed25519, ECDSA (curve-matched hash; DER or P1363) or RSA (PKCS#1 v1.5, then PSS, SHA-256)."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        return _verify_ec(key, signature, message, _ec_hash(key))
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            return _verify_rsa(key, signature, message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _verify_rsa(key: rsa.RSAPublicKey, signature: bytes, message: bytes) -> bool:
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
    for pad in (padding.PKCS1v15(), pss):
        try:
            key.verify(signature, message, pad, hashes.SHA256())
        except (InvalidSignature, ValueError, TypeError):
            continue
        return True
    return False


def verify_prehashed(key: PublicKey, signature: bytes, digest: bytes) -> bool:
    """A signature over a SHA-256 digest (Sigstore message signatures); Ed25519 cannot sign prehashed."""
    if len(digest) != 32:
        return False
    if isinstance(key, ec.EllipticCurvePublicKey):
        return _verify_ec(key, signature, digest, Prehashed(hashes.SHA256()))
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        else:
            return False
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
