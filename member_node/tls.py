"""TLS to the hub: trust the national root, present the organisation's certificate.

A hub deployed behind the TLS proxy of `docker/` asks every client for a
certificate; a member node answers with its authentication certificate
(`tls.crt`) or else its organisation certificate (the one it signs its tokens
with), so the hub can bind the TLS client to the member its token names.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from member_node.identity import NodeIdentity
from signing.certs import cert_to_pem
from signing.keys import private_key_of

__all__ = ["client_tls_context"]


def client_tls_context(identity: NodeIdentity) -> ssl.SSLContext:
    """An SSL context that verifies the hub against the national root(s) and presents
    the node's TLS certificate chain (`NodeIdentity.tls_client`) as client certificate.

    A key that cannot leave its token cannot be shown: then no client certificate
    is offered, and a hub behind mutual TLS refuses the calls with
    `client_certificate_missing`; give the node a `tls.key` and `tls.crt`.
    """
    context = ssl.create_default_context(
        cadata=b"".join(cert_to_pem(root) for root in identity.roots).decode()
    )
    signer = identity.tls_client
    private_key = private_key_of(signer.key)
    if private_key is None:
        return context
    key_pem = private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    chain_pem = b"".join(cert_to_pem(cert) for cert in signer.chain)
    # OpenSSL loads a client key only from files: write them 0600, load, remove
    with tempfile.TemporaryDirectory(prefix="lienthong-tls-") as directory:
        key_path, chain_path = Path(directory) / "org.key", Path(directory) / "org.crt"
        key_path.touch(mode=0o600)
        key_path.write_bytes(key_pem)
        chain_path.write_bytes(chain_pem)
        context.load_cert_chain(chain_path, key_path)
        os.unlink(key_path)
    return context
