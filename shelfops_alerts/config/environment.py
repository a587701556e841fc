"""Where settings come from: the process environment, a ``.env`` file, and the stack file
``dev`` writes (``.shelfops/stack.env``), merged with the environment winning."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from shelfops_alerts.config.readers import ConfigError
from shelfops_alerts.config.secrets import mask_env_line

#: Folder (relative to the working directory) where ``dev`` keeps its servers and state.
STACK_DIR = Path(".shelfops")
#: File ``dev`` writes with the URLs of the embedded stack while it runs.
STACK_ENV = STACK_DIR / "stack.env"


def read_env_file(path: Path, *, interpolate: bool = True) -> dict[str, str]:
    """Read a ``.env`` file as python-dotenv does; a missing file is empty.

    ``KEY=value`` lines, ``export`` prefixes, quotes, ``#`` comments (whole-line and after a
    value) and ``${VAR}`` expansion (unless ``interpolate`` is false) all follow
    python-dotenv. A line it cannot parse, or a bare ``KEY`` without ``=``, raises
    :class:`ConfigError` with the file and line number, instead of being skipped with a warning.
    """
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8")
    for binding in parse_stream(io.StringIO(text)):
        if binding.error or (binding.key is not None and binding.value is None):
            line = mask_env_line(binding.original.string.strip())
            raise ConfigError(f"{path}:{binding.original.line}: expected KEY=value, got {line!r}")
    values = dotenv_values(stream=io.StringIO(text), interpolate=interpolate)
    return {key: value for key, value in values.items() if value is not None}


def _pid_alive(raw: str) -> bool:
    """Whether the process that wrote stack.env still runs (a stale file is ignored)."""
    try:
        os.kill(int(raw), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def gather_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Merge stack.env < .env < process environment (later wins)."""
    merged: dict[str, str] = {}
    # Written by `dev` with machine values (paths, URLs): taken literally, never expanded.
    stack = read_env_file(STACK_ENV, interpolate=False)
    if _pid_alive(stack.get("SHELFOPS_DEV_PID", "")):
        merged.update(stack)
    merged.update(read_env_file(Path(".env")))
    merged.update(os.environ if environ is None else environ)
    return merged
