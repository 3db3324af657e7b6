"""Ed25519 private keys from the environment (PEM, or the base64 of the 32-byte seed) or, in the embedded
demo only, from a key file Keel makes once under var/. The deployment gate and the audit checkpoints
each hold one such key, loaded the same way."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def load_private(value: str, *, variable: str, error: type[Exception]) -> Ed25519PrivateKey:
    """The key `variable` holds; `error` (the caller's "no usable key" exception) when it holds none."""
    value = value.strip()
    if value.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(value.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise error(f"{variable} is not an Ed25519 private key.")
        return key
    try:
        standard = value.replace("-", "+").replace("_", "/")  # accept base64url as well
        seed = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except ValueError as exc:
        raise error(f"{variable} is neither a PEM key nor base64.") from exc
    if len(seed) != 32:
        raise error(f"{variable} must hold a 32-byte Ed25519 seed (base64) or a PEM key.")
    return Ed25519PrivateKey.from_private_bytes(seed)


def embedded_key_file(path: Path, *, variable: str, error: type[Exception]) -> Ed25519PrivateKey:
    """The demo's key: made once at `path`, readable only by its owner."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # O_EXCL: when web and worker start together, one writes the key and the other reads it.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
    return load_private(path.read_text(), variable=variable, error=error)
