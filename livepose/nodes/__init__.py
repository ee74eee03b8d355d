"""Built-in node types, by the name pipelines use in ``type:``.

Each entry is ``module:Class``, imported only when a pipeline (or ``livepose nodes``) needs it,
so a pipeline without model nodes never imports onnxruntime.
"""

BUILTIN_NODES: dict[str, str] = {
    "capture": "livepose.nodes.capture:Capture",
    "replay": "livepose.nodes.replay:Replay",
    "visualize": "livepose.nodes.visualize:Visualize",
    "display": "livepose.nodes.display:Display",
    "viewer": "livepose.nodes.viewer:Viewer",
    "record": "livepose.nodes.record:Record",
    "export_keypoints": "livepose.nodes.export:ExportKeypoints",
    "merge": "livepose.nodes.merge:Merge",
    "mosaic": "livepose.nodes.mosaic:Mosaic",
    "palm_detector": "livepose.nodes.hands:PalmDetectorNode",
    "hand_landmarks": "livepose.nodes.hands:HandLandmarksNode",
    "face_detector": "livepose.nodes.face:FaceDetectorNode",
    "face_landmarks": "livepose.nodes.face:FaceLandmarksNode",
    "face_tracker": "livepose.nodes.face:FaceTrackerNode",
    "pose_detector": "livepose.nodes.pose:PoseDetectorNode",
    "pose_landmarks": "livepose.nodes.pose:PoseLandmarksNode",
    "holistic": "livepose.nodes.holistic:HolisticNode",
    "keypoints": "livepose.nodes.keypoints:KeypointsNode",
    "hand_keypoints": "livepose.nodes.keypoints:HandKeypointsNode",
    "tracker": "livepose.nodes.tracker:Tracker",
    "gestures": "livepose.nodes.gestures:Gestures",
    "sunglasses": "livepose.nodes.effects:Sunglasses",
    "big_eyes": "livepose.nodes.effects:BigEyes",
    "privacy_blur": "livepose.nodes.effects:PrivacyBlur",
    "finger_paint": "livepose.nodes.effects:FingerPaint",
    "face_paint": "livepose.nodes.effects:FacePaint",
    "selfie_segmentation": "livepose.nodes.segmentation:SelfieSegmentationNode",
    "background": "livepose.nodes.effects:Background",
}
