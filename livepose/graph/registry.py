"""Finding node classes by the ``type:`` a pipeline names.

Three ways, in order: a built-in name (``livepose.nodes.BUILTIN_NODES``), a name registered by
an installed package under the ``livepose.nodes`` entry point, or ``package.module:Class``. A
module that is not importable as installed is looked for in the folders a pipeline names (its own
folder, then the current one), as ``python script.py`` finds modules beside the script.
"""

from __future__ import annotations

import functools
import importlib
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Sequence

from livepose.graph.node import Node
from livepose.nodes import BUILTIN_NODES

ENTRY_POINT_GROUP = "livepose.nodes"


class NodeTypeError(LookupError):
    """A ``type:`` that names no usable node class; the message says why."""


def known_node_types() -> dict[str, str]:
    """Every registered type name -> ``module:Class``, built-ins first."""
    types = dict(BUILTIN_NODES)
    for name, value in _registered_node_types():
        types.setdefault(name, value)
    return types


@functools.cache
def _registered_node_types() -> tuple[tuple[str, str], ...]:
    # Reading every installed distribution's metadata takes milliseconds; a pipeline asks once per node.
    return tuple((ep.name, ep.value) for ep in entry_points(group=ENTRY_POINT_GROUP))


def _import_class(target: str, search_dirs: Sequence[Path]) -> type:
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise NodeTypeError(f"'{target}' is not of the form package.module:ClassName")
    try:
        module = _import_module(module_name, search_dirs)
    except ModuleNotFoundError as exc:
        top = module_name.partition(".")[0]
        if exc.name != top:
            raise NodeTypeError(f"module '{module_name}' could not be imported: {exc}") from None
        where = " or ".join(f"'{d}'" for d in dict.fromkeys(str(d) for d in search_dirs)) or "the import path"
        raise NodeTypeError(f"cannot import module '{module_name}': there is no {top}.py (or package {top}/) "
                            f"in {where}, and no installed module of that name") from None
    except Exception as exc:
        # The user's own module is broken: say where, as Python would, without our traceback.
        where = f" ({exc.filename}, line {exc.lineno})" if isinstance(exc, SyntaxError) else ""
        raise NodeTypeError(f"importing module '{module_name}' failed{where}: {type(exc).__name__}: {exc}") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise NodeTypeError(f"module '{module_name}' has no class '{attr}'") from None


def _import_module(module_name: str, search_dirs: Sequence[Path]) -> object:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        top = module_name.partition(".")[0]
        if exc.name != top:
            raise
        for folder in search_dirs:
            if (folder / f"{top}.py").is_file() or (folder / top / "__init__.py").is_file():
                # On sys.path for good: worker processes get this path, and later imports find it too.
                sys.path.insert(0, str(folder))
                importlib.invalidate_caches()
                return importlib.import_module(module_name)
        raise


def resolve_node_type(type_name: str, search_dirs: Sequence[Path] = ()) -> type[Node]:
    """The Node subclass for a pipeline ``type:``; raises NodeTypeError saying why not.

    ``search_dirs``: folders to find a ``module:Class`` module in when it is not installed.
    """
    target = known_node_types().get(type_name)
    if target is None and ":" not in type_name:
        raise NodeTypeError(f"unknown node type '{type_name}'")
    cls = _import_class(target or type_name, search_dirs)
    if not (isinstance(cls, type) and issubclass(cls, Node)) or cls is Node:
        raise NodeTypeError(f"'{type_name}' is not a livepose Node subclass")
    return cls
