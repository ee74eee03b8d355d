"""The MP4 writer: H.264, right duration with dropped frames, constant rate, and interruption safety."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import av
import numpy as np
import pytest

from livepose.errors import UserError
from livepose.io import Mp4Writer, SyntheticSource, VideoFileSource, available_h264_encoder
from media_paths import SHORT_CLIP, media_file


def decode(path) -> tuple[list[float], float, str, tuple[int, int]]:
    """Frame times, container duration (s), codec name and size of a video file."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        times = [float(f.pts * f.time_base) for f in container.decode(stream)]
        return times, container.duration / av.time_base, stream.codec_context.name, (stream.width, stream.height)


def test_this_machine_records_h264():
    assert available_h264_encoder() in ("libx264", "libopenh264")
    assert Mp4Writer("unused.mp4").encoder != "mpeg4"


def test_variable_frame_rate_keeps_real_time_across_dropped_frames(tmp_path):
    source = SyntheticSource(width=320, height=240, fps=30, frames=90)
    kept = [f for i, f in enumerate(iter(source.read, None)) if i % 3 != 1 and not 30 <= i < 45]
    path = tmp_path / "vfr.mp4"
    with Mp4Writer(path) as writer:
        for frame in kept:
            writer.write(frame.image, 100.0 + frame.media_time)
    times, duration, codec, size = decode(path)
    assert codec == "h264" and size == (320, 240)
    assert len(times) == len(kept)
    np.testing.assert_allclose(times, [f.media_time for f in kept], atol=1e-4)
    # 90 frames of 1/30 s, even though a third and then half a second were dropped.
    assert duration == pytest.approx(3.0, abs=1 / 30)


def test_constant_rate_and_odd_sizes(tmp_path):
    path = tmp_path / "cfr.mp4"
    with Mp4Writer(path, fps=25) as writer:
        for frame in iter(SyntheticSource(width=321, height=241, fps=60, frames=50).read, None):
            writer.write(frame.image)
    times, duration, _, size = decode(path)
    assert size == (320, 240)
    np.testing.assert_allclose(times, np.arange(50) / 25, atol=1e-4)
    assert duration == pytest.approx(2.0, abs=1 / 25)


def test_equal_timestamps_still_give_every_frame(tmp_path):
    path = tmp_path / "same.mp4"
    image = np.zeros((64, 64, 3), np.uint8)
    with Mp4Writer(path) as writer:
        for _ in range(5):
            writer.write(image, 7.0)
    times, _, _, _ = decode(path)
    assert len(times) == 5 and all(b > a for a, b in zip(times, times[1:]))


def test_mp4v_fallback_on_request(tmp_path):
    path = tmp_path / "mp4v.mp4"
    with Mp4Writer(path, codec="mp4v") as writer:
        for frame in iter(SyntheticSource(width=160, height=120, fps=30, frames=30).read, None):
            writer.write(frame.image, frame.media_time)
    times, duration, codec, _ = decode(path)
    assert codec == "mpeg4" and len(times) == 30
    assert duration == pytest.approx(1.0, abs=1 / 30)


def test_recording_a_clip_matches_its_frames_and_duration(tmp_path):
    source = VideoFileSource(media_file(SHORT_CLIP))
    path = tmp_path / "copy.mp4"
    with Mp4Writer(path) as writer:
        for frame in iter(source.read, None):
            writer.write(frame.image, frame.media_time)
    times, duration, _, size = decode(path)
    assert size == (540, 720) and len(times) == 58 == writer.frames_written
    assert duration == pytest.approx(58 * 12 / 359, abs=12 / 359)


def test_bad_output_folder_and_closed_writer(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        Mp4Writer(tmp_path / "missing" / "out.mp4")
    writer = Mp4Writer(tmp_path / "never.mp4")
    writer.close()
    writer.close()
    assert not (tmp_path / "never.mp4").exists()
    with pytest.raises(RuntimeError, match="closed"):
        writer.write(np.zeros((8, 8, 3), np.uint8), 0.0)


def test_killed_writer_leaves_a_playable_file(tmp_path):
    path = tmp_path / "killed.mp4"
    script = textwrap.dedent(f"""\
        from livepose.io import Mp4Writer, SyntheticSource
        source = SyntheticSource(width=160, height=120, fps=30)
        writer = Mp4Writer({str(path)!r})
        for i in range(10**6):
            frame = source.read()
            writer.write(frame.image, frame.media_time)
            if i == 75:
                print("written", flush=True)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "written"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    times, _, codec, _ = decode(path)
    # Fragments close at each keyframe (every second): all but the last second survives.
    assert codec == "h264" and len(times) >= 60
    np.testing.assert_allclose(times, np.arange(len(times)) / 30, atol=1e-4)


def keyframe_times(path) -> list[float]:
    with av.open(str(path)) as container:
        return [round(float(p.pts * p.time_base), 4) for p in container.demux(video=0)
                if p.dts is not None and p.is_keyframe]


@pytest.mark.parametrize("fps", [3, 30, 60])
@pytest.mark.parametrize("codec", ["auto", "mp4v"])
def test_a_keyframe_and_a_fragment_every_second_of_media_at_any_rate(tmp_path, fps, codec):
    path = tmp_path / "rate.mp4"
    source = SyntheticSource(width=160, height=120, fps=fps, frames=5 * fps + 1)
    with Mp4Writer(path, codec=codec, faststart_limit_bytes=0) as writer:
        for frame in iter(source.read, None):
            writer.write(frame.image, frame.media_time)
    assert keyframe_times(path) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert path.read_bytes().count(b"moof") == 6


def test_a_clock_that_stands_still_still_gets_a_keyframe_every_600_frames(tmp_path):
    path = tmp_path / "still.mp4"
    image = np.zeros((32, 32, 3), np.uint8)
    with Mp4Writer(path, faststart_limit_bytes=0) as writer:
        for _ in range(601):
            writer.write(image, 5.0)
    assert keyframe_times(path) == [0.0, round(600 / 90000, 4)]


def write_pattern(path, frames, **options) -> None:
    with Mp4Writer(path, **options) as writer:
        for frame in iter(SyntheticSource(width=160, height=120, fps=30, frames=frames).read, None):
            writer.write(frame.image, frame.media_time)


def test_closed_recording_is_rewritten_with_its_index_first(tmp_path):
    path = tmp_path / "plain.mp4"
    write_pattern(path, 45)
    data = path.read_bytes()
    assert b"moof" not in data and data.find(b"moov") < data.find(b"mdat")
    assert not (tmp_path / "plain.mp4.part").exists()
    with av.open(str(path)) as container:
        assert container.streams.video[0].frames == 45
    times, duration, _, _ = decode(path)
    assert len(times) == 45 and duration == pytest.approx(1.5, abs=1 / 30)


def test_large_recordings_stay_fragmented_and_playable(tmp_path):
    path = tmp_path / "fragmented.mp4"
    write_pattern(path, 45, faststart_limit_bytes=0)
    assert b"moof" in path.read_bytes()
    times, duration, _, _ = decode(path)
    assert len(times) == 45 and duration == pytest.approx(1.5, abs=1 / 30)
