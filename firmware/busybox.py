"""Debian's `busybox-static`, the unmodified third-party binary that user-space tests run.

    python -m firmware.busybox armv7|x86     # prints the path of the cached binary

The issue's measure of the kernel model is real binaries built by other people, so the tests
run Debian bookworm's `busybox-static` (glibc, static) for armhf on soclab-armv7 and for i386
on soclab-x86. It cannot come from PyPI, so the first use downloads the package from Debian's
archive, checks it against the SHA-256 pinned here, and keeps `bin/busybox` in the soclab
cache (`<cache>/busybox/<version>/<arch>/busybox`) for later runs, as the zig-built firmware
is kept. The .deb is read with the standard library: an `ar` archive whose `data.tar.xz`
member holds `./bin/busybox`.

Debian's pool keeps only a suite's current version, so when a point release replaces the
pinned one the package is found through the suite's `Packages.xz` index instead (its
Filename and SHA256 fields); the cache then holds that version.

`SOCLAB_BUSYBOX_DEB_DIR` names a directory holding the two .deb files under their Debian
names, for machines without network access; they are checked against the same digests.
"""

from __future__ import annotations

import hashlib
import io
import lzma
import os
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from firmware.build import cache_dir

VERSION = "1.35.0-4+deb12u1+b1"
MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"


@dataclass(frozen=True)
class Package:
    deb_arch: str
    sha256: str

    @property
    def filename(self) -> str:
        return f"busybox-static_{VERSION}_{self.deb_arch}.deb"

    @property
    def urls(self) -> list[str]:
        quoted = self.filename.replace("+", "%2B")
        return [
            f"{MIRROR}/pool/main/b/busybox/{self.filename}",
            f"https://snapshot.debian.org/archive/debian/20250520T000000Z/pool/main/b/busybox/{quoted}",
        ]


PACKAGES = {
    "armv7": Package("armhf", "2f68dbeaebeda49f3cde34ac421d5add85fb1c837ff7c4a4971945340d9d66ff"),
    "x86": Package("i386", "725ef9e6fbac4ab79b353165b05005e8c140d6e42177ebbc202ff1e13ded8b7c"),
}


class BusyboxUnavailable(RuntimeError):
    pass


def busybox(arch: str) -> Path:
    """The path of Debian's busybox-static binary for a board, downloading it on first use."""
    pkg = PACKAGES.get(arch)
    if pkg is None:
        raise BusyboxUnavailable(f"no busybox-static package for board {arch!r}")
    target = cache_dir() / "busybox" / VERSION / pkg.deb_arch / "busybox"
    if target.exists():
        return target
    newer = sorted((cache_dir() / "busybox").glob(f"*/{pkg.deb_arch}/busybox"))
    if newer:
        return newer[-1]
    try:
        deb = _fetch(pkg)
    except BusyboxUnavailable as pinned_error:
        current = _from_index(pkg)
        if current is None:
            raise pinned_error from None
        pkg, version = current
        target = cache_dir() / "busybox" / version / pkg.deb_arch / "busybox"
        deb = _fetch(pkg)
    binary = _extract(deb, "./bin/busybox")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent)
    with os.fdopen(fd, "wb") as f:
        f.write(binary)
    os.chmod(tmp, 0o755)
    os.replace(tmp, target)  # atomic: parallel test workers may race to the same file
    return target


@dataclass(frozen=True)
class IndexedPackage(Package):
    path: str = ""

    @property
    def filename(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def urls(self) -> list[str]:
        return [f"{MIRROR}/{self.path}"]


def _from_index(pkg: Package) -> tuple[Package, str] | None:
    """The suite's current busybox-static for an architecture, from its Packages index."""
    url = f"{MIRROR}/dists/{SUITE}/main/binary-{pkg.deb_arch}/Packages.xz"
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            text = lzma.decompress(response.read()).decode("utf-8", "replace")
    except (OSError, lzma.LZMAError):
        return None
    for stanza in text.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in stanza.splitlines() if ": " in line and line[0] != " "
        )
        if fields.get("Package") == "busybox-static" and {"Filename", "SHA256"} <= fields.keys():
            version = fields.get("Version", "current").split(":")[-1]
            return IndexedPackage(pkg.deb_arch, fields["SHA256"], fields["Filename"]), version
    return None


def _fetch(pkg: Package) -> bytes:
    local = os.environ.get("SOCLAB_BUSYBOX_DEB_DIR")
    errors: list[str] = []
    sources: list[tuple[str, bytes | None]] = []
    if local:
        path = Path(local) / pkg.filename
        sources.append((str(path), path.read_bytes() if path.exists() else None))
    for url in pkg.urls:
        if sources and sources[-1][1] is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                sources.append((url, response.read()))
        except OSError as e:
            errors.append(f"{url}: {e}")
    for where, data in sources:
        if data is None:
            errors.append(f"{where}: missing")
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest == pkg.sha256:
            return data
        errors.append(f"{where}: sha256 {digest}, expected {pkg.sha256}")
    raise BusyboxUnavailable(f"cannot get {pkg.filename}: " + "; ".join(errors))


def _extract(deb: bytes, member: str) -> bytes:
    """One file out of a .deb: an `ar` archive (60-byte member headers) holding data.tar.*."""
    if not deb.startswith(b"!<arch>\n"):
        raise BusyboxUnavailable("not a Debian package (no ar magic)")
    pos = 8
    while pos + 60 <= len(deb):
        header = deb[pos : pos + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58])
        data = deb[pos + 60 : pos + 60 + size]
        if name.startswith("data.tar"):
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                f = tar.extractfile(member)
                if f is None:
                    raise BusyboxUnavailable(f"{member} is not a regular file in the package")
                return f.read()
        pos += 60 + size + (size & 1)
    raise BusyboxUnavailable("no data.tar member in the package")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in PACKAGES:
        print("usage: python -m firmware.busybox armv7|x86", file=sys.stderr)
        return 2
    try:
        print(busybox(args[0]))
    except BusyboxUnavailable as e:
        print(f"busybox: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
