"""Tamper evidence for a run's manifest: the run digest and an optional OpenSSH signature.

Checksums in ``provenance/manifest.json`` catch accidental change: a file edited, truncated or
lost after the run. They do not catch a forger, who can edit a result *and* its checksum in
the manifest. Two things do:

**The run digest** (``sha256:...``, :func:`psymodal.provenance.manifest.run_digest`), printed
at the end of every run and written to ``provenance/manifest.sha256``. The copy in the results
folder is as forgeable as the manifest; the point is that the lab copies the printed digest
into its own records (lab notebook, e-mail, trial registry). ``psymodal audit --expect DIGEST``
then fails for any manifest other than the one the run wrote.

**An OpenSSH signature** (``psymodal sign RESULTS --key KEY``: ``ssh-keygen -Y sign`` in the
:data:`NAMESPACE` namespace, written to ``provenance/manifest.json.sig``). ``psymodal audit
--allowed-signers FILE --identity ID`` verifies it with ``ssh-keygen -Y verify``: only the
holder of the private key can produce a manifest that verifies.

``ssh-keygen`` is always called with an argument list (never through a shell).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from psymodal.io.tables import atomic_write
from psymodal.provenance import manifest as prov

#: The signature namespace (``ssh-keygen -Y ... -n``): a signature made for another purpose
#: (git commits, e-mail) never verifies as a psymodal manifest signature.
NAMESPACE = "psymodal"
SSH_KEYGEN = "ssh-keygen"


def signature_path(manifest_file: str | os.PathLike) -> Path:
    """``provenance/manifest.json.sig`` beside a manifest file."""
    return Path(manifest_file).with_name(prov.SIGNATURE_NAME)


def _ssh_keygen() -> str:
    found = shutil.which(SSH_KEYGEN)
    if found is None:
        raise FileNotFoundError(
            "ssh-keygen not found: install OpenSSH's client (apt-get install openssh-client)"
        )
    return found


def sign_manifest(manifest_file: str | os.PathLike, key: str | os.PathLike) -> Path:
    """Sign a manifest with an OpenSSH private key (``ssh-keygen -Y sign``).

    Parameters
    ----------
    manifest_file : path-like
        ``provenance/manifest.json``.
    key : path-like
        The private key (or its ``.pub`` when the private key is held by ``ssh-agent``).

    Returns
    -------
    Path
        The signature, ``provenance/manifest.json.sig`` (replaced when present).

    Raises
    ------
    FileNotFoundError
        Without ssh-keygen, the manifest or the key.
    ValueError
        When ssh-keygen refuses (wrong passphrase, not a key...), with its message.
    """
    manifest_file, key = Path(manifest_file), Path(key)
    for path in (manifest_file, key):
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found")
    command = [_ssh_keygen(), "-Y", "sign", "-n", NAMESPACE, "-f", str(key)]
    with open(manifest_file, "rb") as data:
        result = subprocess.run(command, stdin=data, capture_output=True, check=False)
    if result.returncode != 0 or not result.stdout:
        message = result.stderr.decode(errors="replace").strip()
        raise ValueError(f"ssh-keygen could not sign {manifest_file} with {key}: {message}")
    return atomic_write(signature_path(manifest_file), lambda tmp: tmp.write_bytes(result.stdout))


def verify_signature(
    manifest_file: str | os.PathLike,
    allowed_signers: str | os.PathLike,
    identity: str,
    signature: str | os.PathLike | None = None,
) -> tuple[bool, str]:
    """Verify a manifest's signature (``ssh-keygen -Y verify``).

    Parameters
    ----------
    manifest_file : path-like
    allowed_signers : path-like
        An OpenSSH allowed-signers file (``IDENTITY namespaces="psymodal" ssh-ed25519 AAAA...``
        or without the namespaces option), kept by the lab, not in the results folder.
    identity : str
        The signer's identity in that file.
    signature : path-like, optional
        Default: :func:`signature_path`.

    Returns
    -------
    ok : bool
    message : str
        ssh-keygen's own words (``Good "psymodal" signature for ...`` or why not).
    """
    signature = Path(signature or signature_path(manifest_file))
    command = [_ssh_keygen(), "-Y", "verify", "-f", str(allowed_signers), "-I", identity]
    command += ["-n", NAMESPACE, "-s", str(signature)]
    with open(manifest_file, "rb") as data:
        result = subprocess.run(command, stdin=data, capture_output=True, check=False)
    text = (result.stdout + result.stderr).decode(errors="replace").strip()
    return result.returncode == 0, " ".join(text.split()) or f"exit status {result.returncode}"
