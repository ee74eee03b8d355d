"""Truncated and corrupt input is reported, by file name and what was lost, never processed silently."""

from __future__ import annotations

import logging
import shutil
import textwrap
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from livepose.graph.runner import Runner
from livepose.graph.spec import Overrides, parse_pipeline
from livepose.io import ImageFolderSource, VideoFileSource
from media_paths import HD_CLIP, SHORT_CLIP, WEBM_CLIP, media_file

FOOTBALL_CLIP = "sign-language-processing_pose/videos/FOOTBALL.mp4"
"""Its header counts 64 frames, of which 62 decode: intact all the same."""
HAND_PHOTOS = "mmpose/tests/data/onehand10k"
FACE_PHOTO = "mmpose/tests/data/300w/indoor_020.png"


def cut_in_half(source: Path, target: Path) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


def with_index_first(source: Path, target: Path) -> Path:
    """A copy of a clip with its index (frame count) before its frames, as most downloads are."""
    with av.open(str(source)) as clip, av.open(str(target), "w", format="mp4",
                                               options={"movflags": "faststart"}) as copy:
        stream = clip.streams.video[0]
        out = copy.add_stream_from_template(stream)
        for packet in clip.demux(stream):
            if packet.dts is not None:
                packet.stream = out
                copy.mux(packet)
    return target


def read_all(source) -> int:
    frames = 0
    while source.read() is not None:
        frames += 1
    return frames


def run_pipeline(source: Path) -> object:
    text = textwrap.dedent("""\
        mode: offline
        nodes:
          - {name: camera, type: capture, outputs: frames}
          - {name: window, type: display, inputs: frames}
    """)
    spec = parse_pipeline(text, "t.yaml", Overrides(source=str(source)))
    return Runner(spec, headless=True, install_signal_handlers=False).run()


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


# -- video files ---------------------------------------------------------------------------------
def test_a_truncated_clip_says_how_many_of_its_frames_it_held(tmp_path):
    truncated = cut_in_half(media_file(SHORT_CLIP), tmp_path / "clip.mp4")
    source = VideoFileSource(truncated)
    frames = read_all(source)
    assert 10 < frames < 58
    # (The cut frame may also count as failing to decode, which the report then adds.)
    assert source.loss_report().startswith(f"{truncated}: the file ended after {frames} of 58 frames (truncated?)")


@pytest.mark.parametrize("clip", [SHORT_CLIP, FOOTBALL_CLIP, WEBM_CLIP, HD_CLIP])
def test_intact_clips_report_nothing(clip):
    source = VideoFileSource(media_file(clip))
    read_all(source)
    assert source.loss_report() is None


def test_a_clip_not_read_to_its_end_is_not_called_truncated(tmp_path):
    source = VideoFileSource(cut_in_half(media_file(SHORT_CLIP), tmp_path / "clip.mp4"))
    for _ in range(5):
        source.read()
    assert source.loss_report() is None


def test_a_run_of_a_truncated_clip_warns_once_naming_the_file_and_the_loss(tmp_path, caplog):
    clip = with_index_first(media_file(HD_CLIP), tmp_path / "whole.mp4")
    truncated = cut_in_half(clip, tmp_path / "clip.mp4")
    with caplog.at_level(logging.INFO, logger="livepose"):
        result = run_pipeline(truncated)
    assert result.exit_code == 0, result.reason
    warned = warnings_of(caplog)
    assert len(warned) == 1, warned
    assert warned[0].startswith(f"capture: {truncated}: the file ended after ")
    assert " of 241 frames (truncated?)" in warned[0]
    frames = int(warned[0].split("ended after ")[1].split()[0])
    assert 100 < frames < 200


# -- image folders -------------------------------------------------------------------------------
@pytest.fixture
def photo_folder(tmp_path) -> tuple[Path, dict[str, np.ndarray], dict[str, str]]:
    """Two good photos and four bad files: what each good one holds, and why each bad one is bad."""
    folder = tmp_path / "photos"
    folder.mkdir()
    photos = sorted(media_file(HAND_PHOTOS).glob("*.jpg"))
    shutil.copy(photos[0], folder / "a_good.jpg")
    cut_in_half(photos[1], folder / "b_truncated.jpg")
    cut_in_half(media_file(FACE_PHOTO), folder / "c_truncated.png")
    ok, progressive = cv2.imencode(".jpg", cv2.imread(str(photos[2])), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert ok
    (folder / "d_progressive_truncated.jpg").write_bytes(progressive.tobytes()[: len(progressive) * 2 // 3])
    (folder / "e_not_an_image.jpg").write_text("not a JPEG at all\n")
    shutil.copy(photos[3], folder / "f_good.jpg")
    good = {"a_good.jpg": cv2.imread(str(photos[0])), "f_good.jpg": cv2.imread(str(photos[3]))}
    bad = {"b_truncated.jpg": "the JPEG ends before its end-of-image marker (truncated?)",
           "c_truncated.png": "the PNG ends before its IEND chunk (truncated?)",
           "d_progressive_truncated.jpg": "the JPEG ends before its end-of-image marker (truncated?)",
           "e_not_an_image.jpg": "not a readable image"}
    return folder, good, bad


def test_corrupt_images_are_named_once_skipped_and_decoders_kept_quiet(photo_folder, caplog, capfd):
    folder, good, bad = photo_folder
    source = ImageFolderSource(str(folder))
    with caplog.at_level(logging.INFO, logger="livepose"):
        images = [frame.image for frame in iter(source.read, None)]
    assert len(images) == len(good)
    for image, expected in zip(images, good.values()):
        np.testing.assert_array_equal(image, expected)
    assert warnings_of(caplog) == [f"skipped {folder / name}: {why}" for name, why in bad.items()]
    assert source.decode_errors == len(bad) and source.loss_report() is None
    # libjpeg's "Premature end of JPEG file" and libpng's "Read Error" name no file.
    assert capfd.readouterr().err == ""


def test_a_complete_progressive_jpeg_is_read(tmp_path):
    photo = cv2.imread(str(sorted(media_file(HAND_PHOTOS).glob("*.jpg"))[0]))
    ok, progressive = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    (tmp_path / "p.jpg").write_bytes(progressive.tobytes())
    frame = ImageFolderSource(str(tmp_path)).read()
    assert frame is not None and frame.image.shape == photo.shape


def test_a_run_of_a_folder_with_corrupt_images_names_each_once(photo_folder, caplog):
    folder, good, bad = photo_folder
    with caplog.at_level(logging.INFO, logger="livepose"):
        result = run_pipeline(folder)
    assert result.exit_code == 0, result.reason
    warned = warnings_of(caplog)
    assert len(warned) == len(bad), warned
    for name in bad:
        assert sum(str(folder / name) in message for message in warned) == 1
