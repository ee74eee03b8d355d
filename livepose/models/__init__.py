"""The model layer: zoo of named models, verified on-disk cache, and the onnxruntime session wrapper.

The names below resolve on first use. Importing any submodule (``livepose.models.zoo`` for
``livepose models list``, ``livepose.models.cache``) runs this file first, and importing the
runtime here would load onnxruntime for commands that never run a model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from livepose.models.cache import ModelCache, ModelSourceError, livepose_home, resolve_model
    from livepose.models.runtime import ModelSession, check_providers, gpu_name
    from livepose.models.zoo import DEFAULT_MODELS, ZOO, ModelOutput, ZooModel, get_model

_SUBMODULE_OF = {
    "ModelCache": "cache",
    "ModelSourceError": "cache",
    "livepose_home": "cache",
    "resolve_model": "cache",
    "ModelSession": "runtime",
    "check_providers": "runtime",
    "gpu_name": "runtime",
    "DEFAULT_MODELS": "zoo",
    "ZOO": "zoo",
    "ModelOutput": "zoo",
    "ZooModel": "zoo",
    "get_model": "zoo",
}

__all__ = sorted(_SUBMODULE_OF)


def __getattr__(name: str) -> Any:
    submodule = _SUBMODULE_OF.get(name)
    if submodule is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{submodule}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SUBMODULE_OF))
