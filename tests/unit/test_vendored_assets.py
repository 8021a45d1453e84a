"""The browser assets vendored by scripts/vendor_assets.py are complete, pinned and load nothing remotely."""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[2]
VENDOR_DIR = REPO_ROOT / "src" / "kefu" / "web" / "static" / "vendor"
MANIFEST = VENDOR_DIR / "VENDORED.json"
PACKAGE_JSON = REPO_ROOT / "package.json"

EXPECTED_PACKAGES = {"htmx.org", "bootstrap", "bootstrap-icons", "alpinejs", "echarts", "bpmn-js"}

# Files the templates refer to; their paths are part of the contract with the rest of the app.
REQUIRED_FILES = {
    "htmx/htmx.min.js",
    "bootstrap/bootstrap.min.css",
    "bootstrap/bootstrap.bundle.min.js",
    "bootstrap-icons/bootstrap-icons.min.css",
    "bootstrap-icons/fonts/bootstrap-icons.woff2",
    "bootstrap-icons/fonts/bootstrap-icons.woff",
    "alpinejs/alpine.min.js",
    "echarts/echarts.min.js",
    "bpmn-js/bpmn-modeler.production.min.js",
    "bpmn-js/bpmn-navigated-viewer.production.min.js",
    "bpmn-js/assets/diagram-js.css",
    "bpmn-js/assets/bpmn-js.css",
    "bpmn-js/assets/bpmn-font/css/bpmn.css",
}

# A CSS url(...) or @import, or a JS/HTML src=/href=, that points at another origin.
_REMOTE_CSS_URL = re.compile(rb"""url\(\s*\\?["']?\s*(?:https?:)?//""", re.IGNORECASE)
_REMOTE_IMPORT = re.compile(rb"""@import\s+(?:url\(\s*)?["']?\s*(?:https?:)?//""", re.IGNORECASE)
_SOURCEMAP_COMMENT = re.compile(rb"[#@]\s*sourceMappingURL=")
_REMOTE_ATTR = re.compile(rb"""\b(src|href)\s*=\s*\\?["']?\s*((?:https?:)?//[^"'\\\s>]+)""", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(["']?)([^"')]+)\1\s*\)""")

# bpmn-js's licence requires its watermark, a hyperlink to bpmn.io, to stay on every rendered diagram.
ALLOWED_LINK_HOSTS = {"bpmn.io"}


@cache
def manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


@cache
def pins() -> dict[str, str]:
    return json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))["dependencies"]


def _vendored_files(*suffixes: str) -> list[tuple[str, bytes]]:
    out = []
    for entry in manifest().values():
        for rel in entry["files"]:
            if rel.endswith(suffixes):
                out.append((rel, (VENDOR_DIR / rel).read_bytes()))
    return out


def test_manifest_lists_every_package_with_existing_hashed_files() -> None:
    assert MANIFEST.is_file(), "run scripts/vendor_assets.py to vendor the front-end assets"
    assert set(manifest()) == EXPECTED_PACKAGES
    listed: set[str] = set()
    for package, entry in manifest().items():
        assert entry["license"], package
        assert entry["files"], package
        assert any(Path(rel).name.startswith(("LICENSE", "LICENCE")) for rel in entry["files"]), package
        for rel, digest in entry["files"].items():
            path = VENDOR_DIR / rel
            assert path.is_file(), f"{package}: {rel} is missing"
            assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"{package}: {rel} changed"
            listed.add(rel)
    assert listed >= REQUIRED_FILES, REQUIRED_FILES - listed
    on_disk = {p.relative_to(VENDOR_DIR).as_posix() for p in VENDOR_DIR.rglob("*") if p.is_file()}
    assert on_disk - listed == {"VENDORED.json"}, "files in static/vendor/ not listed in VENDORED.json"


def test_versions_equal_exact_package_json_pins() -> None:
    for package, entry in manifest().items():
        pinned = pins().get(package)
        assert pinned is not None, f"{package} is not pinned in package.json"
        assert re.fullmatch(r"\d+\.\d+\.\d+", pinned), f"{package} pin {pinned!r} is not an exact version"
        assert entry["version"] == pinned, package


def test_htmx_is_the_stable_2_0_line() -> None:
    assert re.fullmatch(r"2\.0\.\d+", manifest()["htmx.org"]["version"])


def test_no_vendored_css_or_js_loads_a_remote_resource() -> None:
    offenders: list[str] = []
    for rel, data in _vendored_files(".css", ".js"):
        for pattern in (_REMOTE_CSS_URL, _REMOTE_IMPORT, _SOURCEMAP_COMMENT):
            for match in pattern.finditer(data):
                offenders.append(f"{rel}: {data[match.start() : match.start() + 80]!r}")
        for match in _REMOTE_ATTR.finditer(data):
            attr, url = match.group(1).lower(), match.group(2).decode("ascii", "replace")
            host = urlsplit(url if "://" in url else "http:" + url).hostname
            if attr == b"href" and host in ALLOWED_LINK_HOSTS:
                continue
            offenders.append(f"{rel}: {match.group(0)!r}")
    assert not offenders, "remote references in vendored assets:\n" + "\n".join(offenders)


def test_relative_urls_in_vendored_css_resolve() -> None:
    missing: list[str] = []
    for rel, data in _vendored_files(".css"):
        for match in _CSS_URL.finditer(data.decode("utf-8")):
            target = match.group(2).strip()
            if target.startswith(("data:", "#")):
                continue
            path = target.split("?", 1)[0].split("#", 1)[0]
            if not (VENDOR_DIR / rel).parent.joinpath(path).resolve().is_file():
                missing.append(f"{rel}: url({target})")
    assert not missing, "CSS points at files that are not vendored:\n" + "\n".join(missing)


def test_bpmn_js_watermark_link_is_kept() -> None:
    for rel in ("bpmn-js/bpmn-modeler.production.min.js", "bpmn-js/bpmn-navigated-viewer.production.min.js"):
        assert b'href="https://bpmn.io' in (VENDOR_DIR / rel).read_bytes(), rel
