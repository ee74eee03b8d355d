"""Video in and out without threads: sources, the MP4 recorder and the keypoint writer."""

from livepose.io.keypoints import KeypointWriter, frame_record, read_keypoints
from livepose.io.sources import (Backoff, CameraSource, ImageFolderSource, SourceDisconnected,
                                 SourceFrame, SourceSpec, StreamSource, SyntheticSource,
                                 VideoFileSource, VideoSource, open_source, parse_source,
                                 probe_frame_count)
from livepose.io.video_writer import Mp4Writer, available_h264_encoder

__all__ = [
    "Backoff", "CameraSource", "ImageFolderSource", "KeypointWriter", "Mp4Writer",
    "SourceDisconnected", "SourceFrame", "SourceSpec", "StreamSource", "SyntheticSource",
    "VideoFileSource", "VideoSource", "available_h264_encoder", "frame_record", "open_source",
    "parse_source", "probe_frame_count", "read_keypoints",
]
