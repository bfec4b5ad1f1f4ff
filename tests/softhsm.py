"""A SoftHSM2 token for the tests of signing on hardware tokens (PKCS#11).

`softhsm` (session-scoped) initialises tokens in a temporary directory
through `SOFTHSM2_CONF` and imports keys into them before any test opens a
session (a PKCS#11 module is initialised once per process and reads its
configuration then). Tests issue certificates for these keys from their own
CA with `ca.issue(..., key=softhsm.keys[label])`: the Python copy of a key is
for issuing only; signing goes through the token.

It is imported once, by `tests/member_node/conftest.py`: a second import elsewhere
would make a second session fixture, and a second set of tokens the loaded module
never sees.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from signing.keys import PrivateKey, generate_key, private_key_pem

MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)
TOKEN = "LIENTHONG TEST"
OTHER_TOKEN = "LIENTHONG OTHER"
"""A second token, never logged into by a fixture: for wrong-PIN tests."""
PIN = "246810"
SO_PIN = "13579"
KEYS = {
    "org": "ec",
    "official": "ec",
    "org-rsa": "rsa2048",
    "official-2": "ec",
    "hub": "ec",
}


@dataclass(frozen=True)
class SoftHsm:
    module: str
    token: str
    other_token: str
    pin: str
    keys: dict[str, PrivateKey]
    """label -> the key imported under that label (for issuing its certificate)."""


def _run(*args: str) -> None:
    done = subprocess.run(["softhsm2-util", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"softhsm2-util {args[0]} failed: {done.stdout}{done.stderr}")


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    module = next((m for m in MODULES if Path(m).exists()), None)
    if module is None or shutil.which("softhsm2-util") is None:
        message = "SoftHSM2 is not installed (apt-get install softhsm2)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    pytest.importorskip("pkcs11")
    base = tmp_path_factory.mktemp("softhsm")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    try:
        for label in (TOKEN, OTHER_TOKEN):
            _run("--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", SO_PIN)
        keys: dict[str, PrivateKey] = {}
        for number, (label, key_type) in enumerate(KEYS.items(), start=1):
            key = generate_key(key_type)  # type: ignore[arg-type]
            pem = base / f"{label}.pem"
            pem.write_bytes(private_key_pem(key))
            _run("--import", str(pem), "--token", TOKEN, "--label", label,
                 "--id", f"{number:02x}", "--pin", PIN)  # fmt: skip
            pem.unlink()
            keys[label] = key
        _run("--import", str(_pem(base, keys["org"])), "--token", OTHER_TOKEN,
             "--label", "org", "--id", "01", "--pin", PIN)  # fmt: skip
        yield SoftHsm(module, TOKEN, OTHER_TOKEN, PIN, keys)
    finally:
        if previous is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous


def _pem(base: Path, key: PrivateKey) -> Path:
    path = base / "other.pem"
    path.write_bytes(private_key_pem(key))
    return path
