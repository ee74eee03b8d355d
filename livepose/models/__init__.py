"""The model layer: zoo of named models, verified on-disk cache, and the onnxruntime session wrapper."""

from livepose.models.cache import ModelCache, ModelSourceError, livepose_home, resolve_model
from livepose.models.runtime import ModelSession, check_providers, gpu_name
from livepose.models.zoo import DEFAULT_MODELS, ZOO, ModelOutput, ZooModel, get_model

__all__ = [
    "DEFAULT_MODELS",
    "ZOO",
    "ModelCache",
    "ModelOutput",
    "ModelSession",
    "ModelSourceError",
    "ZooModel",
    "check_providers",
    "get_model",
    "gpu_name",
    "livepose_home",
    "resolve_model",
]
