"""The registry of named models livepose can prepare: MediaPipe's hand and face models.

Each entry says where the .tflite lives inside the ``mediapipe==0.10.21`` wheel, its sha256, and what
a node needs to drive it: input name, shape and layout, pixel normalization, outputs and their
meaning, and the keypoint schema. Facts come from the wheel's graph configs (see
``shared/reference/mediapipe-hands-face.md``) and from reading the flatbuffers themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from livepose.errors import UserError

MEDIAPIPE_VERSION = "0.10.21"

HAND_LANDMARK_NAMES: tuple[str, ...] = (
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_finger_mcp", "index_finger_pip", "index_finger_dip", "index_finger_tip",
    "middle_finger_mcp", "middle_finger_pip", "middle_finger_dip", "middle_finger_tip",
    "ring_finger_mcp", "ring_finger_pip", "ring_finger_dip", "ring_finger_tip",
    "pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip",
)  # fmt: skip
# Only keypoints 0 and 2 are documented by MediaPipe; the others keep neutral names.
PALM_KEYPOINT_NAMES: tuple[str, ...] = (
    "wrist_center", "palm_keypoint_1", "middle_finger_mcp", "palm_keypoint_3",
    "palm_keypoint_4", "palm_keypoint_5", "palm_keypoint_6",
)  # fmt: skip
FACE_DETECTION_KEYPOINT_NAMES: tuple[str, ...] = (
    "right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion",
)  # fmt: skip
IRIS_KEYPOINT_NAMES: tuple[str, ...] = ("iris_center", "iris_1", "iris_2", "iris_3", "iris_4")


@dataclass(frozen=True)
class ModelOutput:
    name: str  # tensor name, identical in the .tflite and the converted .onnx
    shape: tuple[int, ...]
    meaning: str


@dataclass(frozen=True)
class ZooModel:
    """A named model and everything needed to prepare and drive it."""

    name: str  # zoo name, e.g. "mediapipe/palm_detection_full"
    task: str  # palm_detection | hand_landmark | face_detection | face_landmark | iris_landmark | selfie_segmentation
    #            | pose_detection | pose_landmark | hand_recrop
    description: str
    source_member: str  # path of the .tflite inside the mediapipe wheel
    source_sha256: str
    source_size: int
    input_name: str
    input_shape: tuple[int, int, int, int]  # batch, height, width, channels
    input_layout: str  # always "NHWC", as in TFLite
    color_order: str  # "RGB"
    input_range: tuple[float, float]  # pixel value 0 maps to the first, 255 to the second
    outputs: tuple[ModelOutput, ...]
    keypoint_count: int
    keypoint_names: tuple[str, ...]  # empty when the points are unnamed mesh vertices
    default: bool  # one of the models the default hand and face pipelines use
    source_package: str = "wheel"  # "wheel": the mediapipe wheel; "npm-pose": the npm package @mediapipe/pose

    @property
    def file_name(self) -> str:
        """The .tflite file name, also the stem of the cached .onnx."""
        return self.source_member.rsplit("/", 1)[-1]

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height) of the input image."""
        return self.input_shape[2], self.input_shape[1]

    def output(self, name: str) -> ModelOutput:
        for output in self.outputs:
            if output.name == name:
                return output
        raise KeyError(f"{self.name} has no output {name!r}")


_PALM_OUTPUTS = (
    ModelOutput(
        "Identity", (1, 2016, 18),
        "box and keypoint regressors per SSD anchor, in input pixels: x_center, y_center, w, h offsets from "
        "the anchor, then 7 keypoints as (x, y)",
    ),
    ModelOutput("Identity_1", (1, 2016, 1), "palm score per anchor, raw logit (apply sigmoid)"),
)  # fmt: skip
_HAND_LANDMARK_OUTPUTS = (
    ModelOutput(
        "Identity", (1, 63),
        "21 landmarks as (x, y, z) in input-crop pixels; z is relative to the wrist, same scale as x",
    ),
    ModelOutput("Identity_1", (1, 1), "hand presence score, already a probability (sigmoid applied)"),
    ModelOutput(
        "Identity_2", (1, 1),
        "handedness score, already a probability: 'Left' for a mirrored (selfie) image when above 0.5",
    ),
    ModelOutput("Identity_3", (1, 63), "21 world landmarks as (x, y, z) in metres, origin near the hand centre"),
)  # fmt: skip

ZOO: dict[str, ZooModel] = {
    model.name: model
    for model in (
        ZooModel(
            name="mediapipe/palm_detection_full",
            task="palm_detection",
            description="MediaPipe palm detector (full), SSD with 2016 anchors",
            source_member="mediapipe/modules/palm_detection/palm_detection_full.tflite",
            source_sha256="1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54",
            source_size=2339846,
            input_name="input_1",
            input_shape=(1, 192, 192, 3),
            input_layout="NHWC",
            color_order="RGB",
            input_range=(0.0, 1.0),
            outputs=_PALM_OUTPUTS,
            keypoint_count=7,
            keypoint_names=PALM_KEYPOINT_NAMES,
            default=True,
        ),
        ZooModel(
            name="mediapipe/palm_detection_lite",
            task="palm_detection",
            description="MediaPipe palm detector (lite), SSD with 2016 anchors",
            source_member="mediapipe/modules/palm_detection/palm_detection_lite.tflite",
            source_sha256="e9a4aaddf90dda56a87235303cf00e4c2d3fb28725f68fd88772997dac905c18",
            source_size=1985440,
            input_name="input_1",
            input_shape=(1, 192, 192, 3),
            input_layout="NHWC",
            color_order="RGB",
            input_range=(0.0, 1.0),
            outputs=_PALM_OUTPUTS,
            keypoint_count=7,
            keypoint_names=PALM_KEYPOINT_NAMES,
            default=False,
        ),
        ZooModel(
            name="mediapipe/hand_landmark_full",
            task="hand_landmark",
            description="MediaPipe hand landmarks (full): 21 points, presence, handedness, world points",
            source_member="mediapipe/modules/hand_landmark/hand_landmark_full.tflite",
            source_sha256="11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3",
            source_size=5478917,
            input_name="input_1",
            input_shape=(1, 224, 224, 3),
            input_layout="NHWC",
            color_order="RGB",
            input_range=(0.0, 1.0),
            outputs=_HAND_LANDMARK_OUTPUTS,
            keypoint_count=21,
            keypoint_names=HAND_LANDMARK_NAMES,
            default=True,
        ),
        ZooModel(
            name="mediapipe/hand_landmark_lite",
            task="hand_landmark",
            description="MediaPipe hand landmarks (lite): 21 points, presence, handedness, world points",
            source_member="mediapipe/modules/hand_landmark/hand_landmark_lite.tflite",
            source_sha256="048edd3645c9bf7397d19a9f6e3a42957d6e414c9bea6598030a2e9b624156e6",
            source_size=2071597,
            input_name="input_1",
            input_shape=(1, 224, 224, 3),
            input_layout="NHWC",
            color_order="RGB",
            input_range=(0.0, 1.0),
            outputs=_HAND_LANDMARK_OUTPUTS,
            keypoint_count=21,
            keypoint_names=HAND_LANDMARK_NAMES,
            default=False,
        ),
        ZooModel(
            name="mediapipe/face_detection_short_range",
            task="face_detection",
            description="MediaPipe face detector (short range, BlazeFace), SSD with 896 anchors",
            source_member="mediapipe/modules/face_detection/face_detection_short_range.tflite",
            source_sha256="bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
            source_size=229714,
            input_name="input",
            input_shape=(1, 128, 128, 3),
            input_layout="NHWC",
            color_order="RGB",
            input_range=(-1.0, 1.0),
            outputs=(
                ModelOutput(
                    "regressors", (1, 896, 16),
                    "box and keypoint regressors per SSD anchor, in input pixels: x_center, y_center, w, h "
                    "offsets from the anchor, then 6 keypoints as (x, y)",
                ),
                ModelOutput("classificators", (1, 896, 1), "face score per anchor, raw logit (apply sigmoid)"),
            ),  # fmt: skip
            keypoint_count=6,
            keypoint_names=FACE_DETECTION_KEYPOINT_NAMES,
            default=True,
        ),
        ZooModel(
            name="mediapipe/face_landmark",
            task="face_landmark",
            description="MediaPipe face mesh: 468 landmarks and a face presence logit",
            source_member="mediapipe/modules/face_landmark/face_landmark.tflite",
            source_sha256="1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
            source_size=1242398,
            input_name="input_1",
            input_shape=(1, 192, 192, 3),
            input_layout="NHWC",
            color_order="RGB",
            input_range=(0.0, 1.0),
            outputs=(
                ModelOutput("conv2d_21", (1, 1, 1, 1404), "468 landmarks as (x, y, z) in input-crop pixels"),
                ModelOutput("conv2d_31", (1, 1, 1, 1), "face presence, raw logit (apply sigmoid)"),
            ),
            keypoint_count=468,
            keypoint_names=(),
            default=True,
        ),
        ZooModel(
            name="mediapipe/iris_landmark",
            task="iris_landmark",
            description="MediaPipe iris landmarks for one eye crop (flip right eyes horizontally first)",
            source_member="mediapipe/modules/iris_landmark/iris_landmark.tflite",
            source_sha256="d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
            source_size=2640568,
            input_name="input_1",
            input_shape=(1, 64, 64, 3),
            input_layout="NHWC",
            color_order="RGB",
            input_range=(0.0, 1.0),
            outputs=(
                ModelOutput(
                    "output_eyes_contours_and_brows", (1, 213),
                    "71 eye-contour and brow points as (x, y, z) in input-crop pixels",
                ),
                ModelOutput("output_iris", (1, 15), "5 iris points (centre, then 4 on the rim) as (x, y, z)"),
            ),  # fmt: skip
            keypoint_count=5,
            keypoint_names=IRIS_KEYPOINT_NAMES,
            default=False,
        ),
    )
}

DEFAULT_MODELS: tuple[str, ...] = tuple(name for name, model in ZOO.items() if model.default)

# MediaPipe's selfie segmentation (``mediapipe/modules/selfie_segmentation/selfie_segmentation_cpu.pbtxt``:
# the whole image stretched to the input, no letterbox; the output is already a probability).
# Kept out of ZOO for now: ZOO's whole-zoo test (tests/test_converter.py) holds every model to 1e-4
# of TFLite's XNNPACK kernels, which TFLite's own builtin kernels miss on these by 3e-4 (a sigmoid
# output near 0.5 is sensitive); tests/test_convert_segmentation.py holds them to 1e-3 instead.
# get_model and the cache find them by name (``livepose models prepare mediapipe/selfie_segmentation``).
def _selfie_segmentation(variant: str, file: str, height: int, output: str, sha256: str, size: int) -> ZooModel:
    """One of MediaPipe's two selfie segmentation models: they differ in input height and names only."""
    return ZooModel(
        name=f"mediapipe/{file}",
        task="selfie_segmentation",
        description=f"MediaPipe selfie segmentation ({variant}, 256x{height}): person probability per pixel",
        source_member=f"mediapipe/modules/selfie_segmentation/{file}.tflite",
        source_sha256=sha256,
        source_size=size,
        input_name="input_1",
        input_shape=(1, height, 256, 3),
        input_layout="NHWC",
        color_order="RGB",
        input_range=(0.0, 1.0),
        outputs=(ModelOutput(output, (1, height, 256, 1),
                             "person probability per input pixel, already in [0, 1] (sigmoid applied)"),),
        keypoint_count=0,
        keypoint_names=(),
        default=False,
    )


SEGMENTATION_MODELS: dict[str, ZooModel] = {
    model.name: model
    for model in (
        _selfie_segmentation("general", "selfie_segmentation", 256, "activation_10",
                             "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c", 249505),
        _selfie_segmentation("landscape", "selfie_segmentation_landscape", 144, "segment_back",
                             "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd", 250145),
    )
}


def _pose_landmark_model(complexity: int, variant: str, member: str, sha256: str, size: int,
                         source_package: str = "wheel") -> ZooModel:
    """One of MediaPipe Pose's three landmark models: the same inputs and outputs, other weights."""
    origin = "" if source_package == "wheel" else ", from npm @mediapipe/pose"
    return ZooModel(
        name=f"mediapipe/pose_landmark_{variant}",
        task="pose_landmark",
        description=f"MediaPipe body pose landmarks (model_complexity {complexity}{origin}): 33 + 6 auxiliary "
        "points, world landmarks, a 256x256 person mask",
        source_member=member,
        source_sha256=sha256,
        source_size=size,
        input_name="input_1",
        input_shape=(1, 256, 256, 3),
        input_layout="NHWC",
        color_order="RGB",
        input_range=(0.0, 1.0),
        outputs=(
            ModelOutput(
                "Identity", (1, 195),
                "39 landmarks (33 + 6 auxiliary) as (x, y, z, visibility logit, presence logit), x, y, z "
                "in input-crop pixels",
            ),
            ModelOutput("Identity_1", (1, 1), "pose presence, already a probability"),
            ModelOutput("Identity_2", (1, 256, 256, 1), "person segmentation logits (apply sigmoid)"),
            ModelOutput("Identity_3", (1, 64, 64, 39), "per-landmark heatmaps, for sub-pixel refinement"),
            ModelOutput("Identity_4", (1, 117), "39 world landmarks as (x, y, z) in metres, hip-centred"),
        ),  # fmt: skip
        keypoint_count=33,
        keypoint_names=(),
        default=False,
        source_package=source_package,
    )


# The body pose, long-range face, 478-point face and holistic hand re-crop models, kept beside ZOO for the
# same reason as the segmentation models: tests/test_convert_pose_models.py holds each to a tolerance of its own
# against TFLite (the pose landmark model's segmentation logits span about 1500, so 1e-4 absolute is too
# tight). Tensor names, shapes and sizes read from the mediapipe 0.10.21 wheel's flatbuffers; the input
# ranges are those of the graphs' ImageToTensorCalculator options (pose_detection_cpu.pbtxt: [-1, 1];
# pose_landmark_by_roi_cpu.pbtxt, face_landmark_cpu.pbtxt, hand_recrop_by_roi_cpu.pbtxt: [0, 1];
# face_detection_full_range_cpu.pbtxt: [-1, 1]). pose_landmark_lite and _heavy (model_complexity 0 and 2) are not
# in the wheel: they come from the npm package @mediapipe/pose 0.5.1675469404 (Apache-2.0), whose
# pose_landmark_full.tflite is byte for byte the wheel's; their sha256 and sizes are of the files in that tarball.
POSE_AND_HOLISTIC_MODELS: dict[str, ZooModel] = {
    model.name: model
    for model in (
        ZooModel(
            name="mediapipe/pose_detection",
            task="pose_detection",
            description="MediaPipe body pose detector (224x224, letterboxed), SSD with 2254 anchors",
            source_member="mediapipe/modules/pose_detection/pose_detection.tflite",
            source_sha256="9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
            source_size=2959046,
            input_name="input_1",
            input_shape=(1, 224, 224, 3),
            input_layout="NHWC",
            color_order="RGB",
            input_range=(-1.0, 1.0),
            outputs=(
                ModelOutput(
                    "Identity", (1, 2254, 12),
                    "box and keypoint regressors per SSD anchor, in input pixels: x_center, y_center, w, h, "
                    "then 4 keypoints as (x, y) (hip centre, full-body scale point, shoulder centre, upper-body "
                    "scale point)",
                ),
                ModelOutput("Identity_1", (1, 2254, 1), "pose score per anchor, raw logit (apply sigmoid)"),
            ),  # fmt: skip
            keypoint_count=4,
            keypoint_names=("hip_center", "full_body_scale", "shoulder_center", "upper_body_scale"),
            default=False,
        ),
        _pose_landmark_model(1, "full", "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
                             "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f", 6440512),
        _pose_landmark_model(0, "lite", "package/pose_landmark_lite.tflite",
                             "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61", 2819824, "npm-pose"),
        _pose_landmark_model(2, "heavy", "package/pose_landmark_heavy.tflite",
                             "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe", 27709200, "npm-pose"),
        ZooModel(
            name="mediapipe/face_detection_full_range",
            task="face_detection",
            description="MediaPipe face detector (full range, sparse weights): faces up to 5 m, 2304 anchors",
            source_member="mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
            source_sha256="2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
            source_size=676746,
            input_name="input_1",
            input_shape=(1, 192, 192, 3),
            input_layout="NHWC",
            color_order="RGB",
            input_range=(-1.0, 1.0),
            outputs=(
                ModelOutput(
                    "Identity", (1, 2304, 16),
                    "box and keypoint regressors per SSD anchor, in input pixels: x_center, y_center, w, h "
                    "offsets from the anchor, then 6 keypoints as (x, y)",
                ),
                ModelOutput("Identity_1", (1, 2304, 1), "face score per anchor, raw logit (apply sigmoid)"),
            ),  # fmt: skip
            keypoint_count=6,
            keypoint_names=FACE_DETECTION_KEYPOINT_NAMES,
            default=False,
        ),
        ZooModel(
            name="mediapipe/face_landmark_with_attention",
            task="face_landmark",
            description="MediaPipe attention face mesh (refine_landmarks): 468 points plus refined lips and "
            "eyes and 10 iris points",
            source_member="mediapipe/modules/face_landmark/face_landmark_with_attention.tflite",
            source_sha256="e06a804e0144f9929eda782122916b35d60c697c3c9344013ca2bbe76a6ce2b4",
            source_size=2495106,
            input_name="input_1",
            input_shape=(1, 192, 192, 3),
            input_layout="NHWC",
            color_order="RGB",
            input_range=(0.0, 1.0),
            outputs=(
                ModelOutput("output_mesh_identity", (1, 1, 1, 1404), "468 mesh points as (x, y, z), crop pixels"),
                ModelOutput("output_lips", (1, 1, 1, 160), "80 refined lip points as (x, y)"),
                ModelOutput("output_left_eye", (1, 1, 1, 142), "71 refined left-eye points as (x, y)"),
                ModelOutput("output_right_eye", (1, 1, 1, 142), "71 refined right-eye points as (x, y)"),
                ModelOutput("output_left_iris", (1, 1, 1, 10), "5 left iris points as (x, y)"),
                ModelOutput("output_right_iris", (1, 1, 1, 10), "5 right iris points as (x, y)"),
                ModelOutput("conv_faceflag", (1, 1, 1, 1), "face presence, raw logit (apply sigmoid)"),
            ),
            keypoint_count=478,
            keypoint_names=(),
            default=False,
        ),
        ZooModel(
            name="mediapipe/hand_recrop",
            task="hand_recrop",
            description="MediaPipe Holistic's hand re-crop: two points that place the hand ROI from the pose's",
            source_member="mediapipe/modules/holistic_landmark/hand_recrop.tflite",
            source_sha256="67d996ce96f9d36fe17d2693022c6da93168026ab2f028f9e2365398d8ac7d5d",
            source_size=123792,
            input_name="input_1",
            input_shape=(1, 256, 256, 3),
            input_layout="NHWC",
            color_order="RGB",
            input_range=(0.0, 1.0),
            outputs=(ModelOutput("output_crop", (1, 1, 1, 4), "2 points as (x, y) in input-crop pixels"),),
            keypoint_count=2,
            keypoint_names=(),
            default=False,
        ),
    )
}


KNOWN_MODELS: dict[str, ZooModel] = {**ZOO, **SEGMENTATION_MODELS, **POSE_AND_HOLISTIC_MODELS}
"""Every model livepose can prepare, by zoo name: what ``livepose models list`` shows and nodes accept."""


def get_model(name: str) -> ZooModel:
    """Look a model up by zoo name; the ``mediapipe/`` prefix may be left out."""
    if name in KNOWN_MODELS:
        return KNOWN_MODELS[name]
    if f"mediapipe/{name}" in KNOWN_MODELS:
        return KNOWN_MODELS[f"mediapipe/{name}"]
    raise UserError(f"unknown model {name!r}; known models: {', '.join(KNOWN_MODELS)} (see `livepose models list`)")
