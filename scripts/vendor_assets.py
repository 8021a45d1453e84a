#!/usr/bin/env python3
"""Vendor the pinned front-end packages into ``src/kefu/web/static/vendor/``.

The browser assets kefu needs (htmx, Bootstrap, Bootstrap Icons, Alpine.js, ECharts, bpmn-js) are pinned to
exact versions in ``package.json`` / ``package-lock.json``.  This script installs them with
``npm ci --ignore-scripts`` and copies only the files the app serves into the Python package, together with
each package's licence and a ``VENDORED.json`` manifest (version, licence, sha256 of every file).  The result
is committed, so ``pip install kefu`` gives a working UI with no Node.js and no CDN.

Usage::

    python scripts/vendor_assets.py            # npm ci, then wipe and rewrite static/vendor/
    python scripts/vendor_assets.py --check    # verify static/vendor/ against VENDORED.json and package.json

Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_JSON = REPO_ROOT / "package.json"
LOCK_JSON = REPO_ROOT / "package-lock.json"
NODE_MODULES = REPO_ROOT / "node_modules"
VENDOR_DIR = REPO_ROOT / "src" / "kefu" / "web" / "static" / "vendor"
MANIFEST_NAME = "VENDORED.json"

NPM_CI_ARGS = ["ci", "--ignore-scripts", "--no-audit", "--no-fund"]

LICENSE_CANDIDATES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "LICENCE.md", "LICENCE.txt")

# `/*# sourceMappingURL=foo.map */` (CSS) and `//# sourceMappingURL=foo.map` (JS), also the old `//@` form.
# The .map files are not vendored, so the comments would only make browser dev tools request missing files.
# Only whole-line comments are removed, never text inside a string literal of minified code.
_SOURCEMAP_RE = re.compile(
    rb"(?m)^[ \t]*(?:/\*[#@][ \t]*sourceMappingURL=[^*\r\n]*\*/|//[#@][ \t]*sourceMappingURL=[^\r\n]*)"
    rb"[ \t]*(?:\r?\n|\Z)"
)

# Alpine.js publishes no licence file in its npm tarball (package.json says "MIT").  This is the text of
# LICENSE.md in the upstream alpinejs/alpine repository, so the vendored copy still carries its notice.
ALPINE_MIT_LICENSE = """\
# MIT License

Copyright © 2019-2021 Caleb Porzio and contributors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


class VendorError(Exception):
    """A problem that stops vendoring; the message is shown to the user."""


def strip_sourcemap(data: bytes) -> bytes:
    return _SOURCEMAP_RE.sub(b"", data)


@dataclass(frozen=True)
class Copy:
    """Copy ``src`` (relative to the npm package dir) to ``dest`` (relative to the package's vendor dir)."""

    src: str
    dest: str
    transform: Callable[[bytes], bytes] | None = None


@dataclass(frozen=True)
class Spec:
    package: str
    vendor_subdir: str
    copies: tuple[Copy, ...]
    # Extra licence/notice files shipped beside LICENSE (e.g. Apache NOTICE).
    extra_notices: tuple[Copy, ...] = ()
    # Used when the package.json "license" field is not an SPDX expression.
    license_override: str | None = None
    # Generates a licence file when the npm tarball ships none: returns (file name, text).
    license_fallback: Callable[[Path], tuple[str, str]] | None = None


def _alpine_license(node_modules: Path) -> tuple[str, str]:
    """Alpine's MIT text plus the licences of @vue/* code bundled into ``dist/cdn.min.js``."""
    parts = [ALPINE_MIT_LICENSE.rstrip("\n")]
    for dep in ("@vue/reactivity", "@vue/shared"):
        lic = _find_license(node_modules / dep)
        if lic is not None:
            version = _read_json(node_modules / dep / "package.json").get("version", "?")
            parts.append(
                f"---\n\nThe CDN build bundles {dep} {version}, licensed as follows:\n\n"
                + lic.read_text(encoding="utf-8").strip("\n")
            )
    note = (
        "<!-- Written by scripts/vendor_assets.py: the alpinejs npm package ships no licence file; "
        "text taken from LICENSE.md in the upstream alpinejs/alpine repository. -->"
    )
    return "LICENSE.md", note + "\n\n" + "\n\n".join(parts) + "\n"


SPECS: tuple[Spec, ...] = (
    Spec(
        package="htmx.org",
        vendor_subdir="htmx",
        copies=(Copy("dist/htmx.min.js", "htmx.min.js", strip_sourcemap),),
    ),
    Spec(
        package="bootstrap",
        vendor_subdir="bootstrap",
        copies=(
            Copy("dist/css/bootstrap.min.css", "bootstrap.min.css", strip_sourcemap),
            Copy("dist/js/bootstrap.bundle.min.js", "bootstrap.bundle.min.js", strip_sourcemap),
        ),
    ),
    Spec(
        package="bootstrap-icons",
        vendor_subdir="bootstrap-icons",
        # The CSS refers to url("fonts/bootstrap-icons.woff2?…"): keep fonts/ beside it.
        copies=(
            Copy("font/bootstrap-icons.min.css", "bootstrap-icons.min.css", strip_sourcemap),
            Copy("font/fonts/bootstrap-icons.woff2", "fonts/bootstrap-icons.woff2"),
            Copy("font/fonts/bootstrap-icons.woff", "fonts/bootstrap-icons.woff"),
        ),
    ),
    Spec(
        package="alpinejs",
        vendor_subdir="alpinejs",
        copies=(Copy("dist/cdn.min.js", "alpine.min.js", strip_sourcemap),),
        license_fallback=_alpine_license,
    ),
    Spec(
        package="echarts",
        vendor_subdir="echarts",
        copies=(Copy("dist/echarts.min.js", "echarts.min.js", strip_sourcemap),),
        # Apache-2.0 §4(d): the NOTICE file travels with redistributed copies; LICENSE points at LICENSE-d3.
        extra_notices=(Copy("NOTICE", "NOTICE"), Copy("licenses/LICENSE-d3", "licenses/LICENSE-d3")),
    ),
    Spec(
        package="bpmn-js",
        vendor_subdir="bpmn-js",
        copies=(
            Copy("dist/bpmn-modeler.production.min.js", "bpmn-modeler.production.min.js", strip_sourcemap),
            Copy(
                "dist/bpmn-navigated-viewer.production.min.js",
                "bpmn-navigated-viewer.production.min.js",
                strip_sourcemap,
            ),
            Copy("dist/assets/diagram-js.css", "assets/diagram-js.css", strip_sourcemap),
            Copy("dist/assets/bpmn-js.css", "assets/bpmn-js.css", strip_sourcemap),
            Copy("dist/assets/bpmn-font/css/bpmn.css", "assets/bpmn-font/css/bpmn.css", strip_sourcemap),
            # Every format bpmn.css names in @font-face, so none of its relative URLs dangles.
            Copy("dist/assets/bpmn-font/font/bpmn.woff2", "assets/bpmn-font/font/bpmn.woff2"),
            Copy("dist/assets/bpmn-font/font/bpmn.woff", "assets/bpmn-font/font/bpmn.woff"),
            Copy("dist/assets/bpmn-font/font/bpmn.ttf", "assets/bpmn-font/font/bpmn.ttf"),
            Copy("dist/assets/bpmn-font/font/bpmn.eot", "assets/bpmn-font/font/bpmn.eot"),
            Copy("dist/assets/bpmn-font/font/bpmn.svg", "assets/bpmn-font/font/bpmn.svg"),
        ),
        # package.json says "SEE LICENSE IN LICENSE": MIT terms plus a clause that the bpmn.io watermark
        # (a link to https://bpmn.io on every rendered diagram) must not be removed and must stay visible.
        license_override="LicenseRef-bpmn.io (MIT with bpmn.io watermark clause)",
    ),
)


# --------------------------------------------------------------------------------------------------------
# helpers


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise VendorError(f"{path} not found") from exc
    except json.JSONDecodeError as exc:
        raise VendorError(f"{path} is not valid JSON: {exc}") from exc


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _find_license(pkg_dir: Path) -> Path | None:
    for name in LICENSE_CANDIDATES:
        candidate = pkg_dir / name
        if candidate.is_file():
            return candidate
    return None


_EXACT_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")


def read_pins(package_json: Path = PACKAGE_JSON) -> dict[str, str]:
    """The exact versions pinned in package.json's dependencies."""
    deps = _read_json(package_json).get("dependencies", {})
    pins: dict[str, str] = {}
    for spec in SPECS:
        version = deps.get(spec.package)
        if version is None:
            raise VendorError(f"package.json does not pin {spec.package!r}")
        if not _EXACT_VERSION_RE.match(version):
            raise VendorError(f"package.json must pin {spec.package} to an exact version, not {version!r}")
        pins[spec.package] = version
    return pins


def run_npm_ci() -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise VendorError("npm was not found on PATH; install Node.js (with npm) to vendor the assets")
    if not LOCK_JSON.is_file():
        raise VendorError(
            f"{LOCK_JSON.name} is missing; run `npm install --ignore-scripts` once to create it"
        )
    cmd = [npm, *NPM_CI_ARGS]
    print(f"$ npm {' '.join(NPM_CI_ARGS)}  (in {REPO_ROOT})", flush=True)
    try:
        result = subprocess.run(cmd, cwd=REPO_ROOT, check=False)
    except OSError as exc:
        raise VendorError(f"could not run npm: {exc}") from exc
    if result.returncode != 0:
        raise VendorError(f"`npm {' '.join(NPM_CI_ARGS)}` failed with exit code {result.returncode}")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chmod(path, 0o644)


def build_vendor_tree(node_modules: Path, out_dir: Path, pins: dict[str, str]) -> dict[str, dict]:
    """Copy the needed files from ``node_modules`` into ``out_dir`` and return the manifest."""
    manifest: dict[str, dict] = {}
    for spec in SPECS:
        pkg_dir = node_modules / spec.package
        pkg_meta = _read_json(pkg_dir / "package.json")
        version = pkg_meta.get("version")
        if version != pins[spec.package]:
            raise VendorError(
                f"{spec.package}: node_modules has {version}, package.json pins {pins[spec.package]}; "
                "re-run `npm install --ignore-scripts` to update package-lock.json"
            )
        dest_root = out_dir / spec.vendor_subdir
        written: list[Path] = []

        for item in (*spec.copies, *spec.extra_notices):
            src = pkg_dir / item.src
            if not src.is_file():
                raise VendorError(f"{spec.package} {version}: expected file {item.src} is missing")
            data = src.read_bytes()
            if item.transform is not None:
                data = item.transform(data)
            target = dest_root / item.dest
            _write(target, data)
            written.append(target)

        lic = _find_license(pkg_dir)
        if lic is not None:
            target = dest_root / lic.name
            _write(target, lic.read_bytes())
        elif spec.license_fallback is not None:
            name, text = spec.license_fallback(node_modules)
            target = dest_root / name
            _write(target, text.encode("utf-8"))
        else:
            raise VendorError(f"{spec.package} {version} ships no licence file; add a license_fallback")
        written.append(target)

        manifest[spec.package] = {
            "version": version,
            "license": spec.license_override or str(pkg_meta.get("license", "UNKNOWN")),
            "files": {p.relative_to(out_dir).as_posix(): _sha256(p) for p in sorted(written)},
        }
    return manifest


def _manifest_bytes(manifest: dict[str, dict]) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def vendor(keep_node_modules: bool) -> int:
    pins = read_pins()
    run_npm_ci()
    try:
        staging = VENDOR_DIR.with_name(VENDOR_DIR.name + ".tmp")
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        try:
            manifest = build_vendor_tree(NODE_MODULES, staging, pins)
            _write(staging / MANIFEST_NAME, _manifest_bytes(manifest))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if VENDOR_DIR.exists():
            shutil.rmtree(VENDOR_DIR)
        staging.rename(VENDOR_DIR)
    finally:
        if not keep_node_modules and NODE_MODULES.exists():
            shutil.rmtree(NODE_MODULES)

    total_files = 0
    total_bytes = 0
    rel_vendor = VENDOR_DIR.relative_to(REPO_ROOT).as_posix()
    print(f"\nVendored into {rel_vendor}/:")
    for package, entry in manifest.items():
        size = sum((VENDOR_DIR / rel).stat().st_size for rel in entry["files"])
        total_files += len(entry["files"])
        total_bytes += size
        print(
            f"  {package:<16} {entry['version']:<9} {entry['license'][:24]:<24} "
            f"{len(entry['files']):>2} files {size / 1024:>8.1f} KB"
        )
    manifest_size = (VENDOR_DIR / MANIFEST_NAME).stat().st_size
    total_files += 1
    total_bytes += manifest_size
    print(f"  total: {total_files} files (incl. {MANIFEST_NAME}), {total_bytes / 1024:.1f} KB")
    return 0


def check() -> int:
    """Compare static/vendor/ with VENDORED.json and package.json; print differences; 0 if none."""
    problems: list[str] = []
    manifest_path = VENDOR_DIR / MANIFEST_NAME
    if not manifest_path.is_file():
        print(
            f"{manifest_path.relative_to(REPO_ROOT)} is missing; run scripts/vendor_assets.py",
            file=sys.stderr,
        )
        return 1
    manifest = _read_json(manifest_path)
    pins = read_pins()

    listed: set[str] = {MANIFEST_NAME}
    for package, version in pins.items():
        entry = manifest.get(package)
        if entry is None:
            problems.append(f"{package}: pinned {version} in package.json but absent from {MANIFEST_NAME}")
            continue
        if entry.get("version") != version:
            problems.append(
                f"{package}: {MANIFEST_NAME} has {entry.get('version')}, package.json pins {version}"
            )
        for rel, expected in sorted(entry.get("files", {}).items()):
            listed.add(rel)
            path = VENDOR_DIR / rel
            if not path.is_file():
                problems.append(f"{package}: {rel} is missing")
            elif _sha256(path) != expected:
                problems.append(f"{package}: {rel} does not match its sha256 in {MANIFEST_NAME}")
    for package in sorted(set(manifest) - set(pins)):
        problems.append(f"{package}: listed in {MANIFEST_NAME} but not pinned in package.json")
    for path in sorted(p for p in VENDOR_DIR.rglob("*") if p.is_file()):
        rel = path.relative_to(VENDOR_DIR).as_posix()
        if rel not in listed:
            problems.append(f"unexpected file not listed in {MANIFEST_NAME}: {rel}")

    if problems:
        print(f"{len(problems)} difference(s) in {VENDOR_DIR.relative_to(REPO_ROOT)}:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        print("Run `python scripts/vendor_assets.py` to re-vendor.", file=sys.stderr)
        return 1
    n_files = sum(len(e["files"]) for e in manifest.values())
    print(f"OK: {n_files} vendored files match {MANIFEST_NAME} and package.json pins")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; verify vendored files against VENDORED.json hashes and package.json pins",
    )
    parser.add_argument(
        "--keep-node-modules",
        action="store_true",
        help="leave node_modules/ in place after vendoring (it is deleted by default)",
    )
    args = parser.parse_args(argv)
    try:
        return check() if args.check else vendor(keep_node_modules=args.keep_node_modules)
    except VendorError as exc:
        print(f"vendor_assets: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
