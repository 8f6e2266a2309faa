"""Parts of salesbot that ship separately (the scheduler, jobs, the forecast, demo data): used when present."""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


def optional_module(name: str) -> ModuleType | None:
    """Import `name`, or None when that module does not exist (yet).

    A module that exists but fails to import (its own missing import) still raises.
    """
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None


def optional_function(module: str, name: str) -> Any:
    """Function `name` of an optional module, or None while that module (or the name) is absent."""
    found = optional_module(module)
    return getattr(found, name, None) if found is not None else None
