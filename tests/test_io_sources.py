"""Video sources: picking the kind, reading files, folders and the pattern, and every clear error."""

from __future__ import annotations

import functools
import http.server
import os
import threading

import cv2
import numpy as np
import pytest

from livepose.errors import UserError
from livepose.io import (Backoff, CameraSource, ImageFolderSource, SourceSpec, SyntheticSource,
                         VideoFileSource, open_source, parse_source, probe_frame_count)
from media_paths import SHORT_CLIP, WEBM_CLIP, media_file


@pytest.mark.parametrize("text, kind, target", [
    ("synthetic", "synthetic", "synthetic"),
    ("0", "camera", 0),
    ("12", "camera", 12),
    ("/dev/video2", "camera", "/dev/video2"),
    ("rtsp://cam.local:554/stream", "url", "rtsp://cam.local:554/stream"),
    ("http://example.com/live.m3u8", "url", "http://example.com/live.m3u8"),
    ("shots/*.jpg", "images", "shots/*.jpg"),
    ("photo.PNG", "images", "photo.PNG"),
    ("clip.mp4", "file", "clip.mp4"),
    ("no_extension", "file", "no_extension"),
])
def test_parse_source_tells_the_kind(text, kind, target):
    assert parse_source(text) == SourceSpec(kind, target)


def test_parse_source_takes_a_folder_as_images_and_rejects_empty(tmp_path):
    assert parse_source(str(tmp_path)) == SourceSpec("images", str(tmp_path))
    with pytest.raises(UserError, match="empty --source"):
        parse_source("  ")


def test_synthetic_pattern_moves_is_reproducible_and_bounded():
    source = SyntheticSource(width=320, height=240, fps=20, frames=5)
    frames = [source.read() for _ in range(6)]
    assert frames[-1] is None
    assert [f.media_time for f in frames[:5]] == [0.0, 0.05, 0.1, 0.15, 0.2]
    assert frames[0].image.shape == (240, 320, 3) and frames[0].image.dtype == np.uint8
    assert np.abs(frames[0].image.astype(int) - frames[4].image).mean() > 1.0
    np.testing.assert_array_equal(SyntheticSource(width=320, height=240, fps=20).render(3), frames[3].image)


def test_video_file_reads_every_frame_with_its_own_timestamps():
    path = media_file(SHORT_CLIP)
    source = VideoFileSource(path)
    assert source.fps == pytest.approx(359 / 12)
    assert source.frame_count() == 58 == probe_frame_count(parse_source(str(path)))
    times = []
    while (frame := source.read()) is not None:
        assert frame.image.shape == (720, 540, 3)
        times.append(frame.media_time)
    source.close()
    assert len(times) == 58 and source.decode_errors == 0
    assert times[0] == 0.0 and all(b > a for a, b in zip(times, times[1:]))
    assert times[-1] == pytest.approx(57 * 12 / 359, abs=0.01)


def test_webm_frame_count_is_estimated_from_the_duration():
    source = VideoFileSource(media_file(WEBM_CLIP))
    estimate = source.frame_count()
    decoded = 0
    while source.read() is not None:
        decoded += 1
    assert estimate is not None and abs(estimate - decoded) <= 2


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts native threads through Linux's /proc")
def test_frames_equal_pyavs_own_conversion_without_starting_threads_per_frame():
    import av

    path = media_file(WEBM_CLIP)
    with av.open(str(path)) as container:
        expected = [frame.to_ndarray(format="bgr24") for _, frame in zip(range(12), container.decode(video=0))]
    source = VideoFileSource(path)
    first = source.read().image
    threads_after_first_frame = set(os.listdir("/proc/self/task"))
    started = set()
    images = [first]
    for _ in range(11):
        images.append(source.read().image)
        started |= set(os.listdir("/proc/self/task")) - threads_after_first_frame
    source.close()
    for image, reference in zip(images, expected, strict=True):
        np.testing.assert_array_equal(image, reference)
    # PyAV's to_ndarray builds a scaler per frame whose worker threads start and stop each time.
    assert not started


def _write_bt709_tagged_clip(path) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.colorspace = 1  # ITU-R BT.709
        stream.codec_context.color_range = 1  # limited ("TV") range
        image = np.zeros((48, 64, 3), np.uint8)
        image[..., 0] = np.linspace(0, 255, 64)[None]
        image[..., 1] = np.linspace(255, 0, 48)[:, None]
        image[..., 2] = 120
        for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_color_matrix_follows_the_tag_or_forces_opencv4s_bt601(tmp_path):
    path = tmp_path / "bt709.mp4"
    _write_bt709_tagged_clip(path)
    decoded = {}
    for matrix in ("auto", "bt601", "bt709"):
        source = VideoFileSource(path, color_matrix=matrix)
        decoded[matrix] = source.read().image.astype(int)
        source.close()
    assert np.array_equal(decoded["auto"], decoded["bt709"])
    # The two matrices weigh the chroma differently: saturated colours move by many levels.
    assert np.abs(decoded["bt601"] - decoded["bt709"]).max() > 10
    with pytest.raises(ValueError, match="color_matrix must be one of"):
        VideoFileSource(path, color_matrix="srgb")


def test_missing_file_says_so(tmp_path):
    with pytest.raises(UserError, match="video file not found: .*nope.mp4"):
        open_source(parse_source(str(tmp_path / "nope.mp4")))


def test_file_that_is_not_a_video_says_it_may_be_corrupt(tmp_path):
    fake = tmp_path / "fake.mp4"
    fake.write_text("this is not a video\n" * 200)
    with pytest.raises(UserError, match="could not read .*fake.mp4 as a video.*corrupt"):
        VideoFileSource(fake)


def test_damaged_frames_are_counted_and_skipped_never_fatal(tmp_path):
    data = bytearray(media_file(SHORT_CLIP).read_bytes())
    start = data.find(b"mdat") + 100_000
    data[start:start + 60_000] = np.random.default_rng(0).integers(0, 256, 60_000, dtype=np.uint8).tobytes()
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    source = VideoFileSource(damaged)
    frames = 0
    while source.read() is not None:
        frames += 1
    assert source.decode_errors > 0
    assert 0 < frames < 58


def test_truncated_file_ends_early_without_error(tmp_path):
    data = media_file(SHORT_CLIP).read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 2])
    source = VideoFileSource(truncated)
    frames = 0
    while source.read() is not None:
        frames += 1
    assert 10 < frames < 58


def test_bad_camera_index_explains_what_to_try():
    with pytest.raises(UserError) as caught:
        CameraSource(97)
    message = str(caught.value)
    assert "cannot open camera 97" in message
    assert "--source synthetic" in message and "--source clip.mp4" in message


def test_camera_fourcc_must_have_four_characters():
    with pytest.raises(UserError, match="fourcc must be 4 characters"):
        CameraSource(0, fourcc="MJPEG")


def _write_images(folder, count):
    for i in range(count):
        image = np.full((48, 64, 3), 40 * i, np.uint8)
        assert cv2.imwrite(str(folder / f"img_{i:02d}.png"), image)


def test_image_folder_in_name_order_skipping_unreadable_files(tmp_path):
    _write_images(tmp_path, 3)
    (tmp_path / "img_01b.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "notes.txt").write_text("ignored")
    source = ImageFolderSource(str(tmp_path), fps=10)
    assert source.frame_count() == 4
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame)
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 40, 80]
    assert source.decode_errors == 1
    assert frames[-1].media_time == pytest.approx(0.3)


def test_image_glob_and_its_errors(tmp_path):
    _write_images(tmp_path, 4)
    source = open_source(parse_source(str(tmp_path / "img_0[12].png")))
    assert [p.name for p in source.paths] == ["img_01.png", "img_02.png"]
    with pytest.raises(UserError, match="no images match"):
        ImageFolderSource(str(tmp_path / "*.jpg"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="holds no images"):
        ImageFolderSource(str(empty))


def test_backoff_doubles_up_to_its_longest_delay_and_resets():
    backoff = Backoff(first=0.25, longest=1.0)
    assert [backoff.next_delay() for _ in range(5)] == [0.25, 0.5, 1.0, 1.0, 1.0]
    backoff.reset()
    assert backoff.next_delay() == 0.25


@pytest.fixture
def http_server():
    """A local web server for the shared media folder; yields its base URL."""
    clip = media_file(SHORT_CLIP)
    handler = functools.partial(QuietHandler, directory=str(clip.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{clip.name}"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_url_of_a_finite_video_is_read_like_a_file(http_server):
    spec = parse_source(http_server)
    assert spec.kind == "url"
    source = open_source(spec)
    assert not source.is_live and source.frame_count() == 58
    times = [frame.media_time for frame in iter(source.read, None)]
    source.close()
    assert len(times) == 58 and times[-1] == pytest.approx(57 * 12 / 359, abs=1e-3)


def test_unreachable_stream_says_what_to_check():
    with pytest.raises(UserError, match="could not open stream rtsp://127.0.0.1:9/none.*reachable"):
        open_source(parse_source("rtsp://127.0.0.1:9/none"))
