"""The image engine's penetration test: costs an outsider chooses, and formats riding along.

Each case is refused (or, for the large flat PNG, accepted at a bounded cost) by what the
headers and bytes say, before the expensive decode the old engine ran.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from storage import decoders, image_bytes, images
from storage.errors import Rejected
from tests.standins import images as samples

LIMIT = 50 * 1024 * 1024


def intake(data: bytes, *, max_pixels: int = 100_000_000) -> images.ImageInfo:
    received = images.receive(io.BytesIO(data), max_bytes=LIMIT)
    try:
        return images.intake(received, max_pixels=max_pixels)[0]
    finally:
        received.close()


def reads(data: bytes) -> image_bytes.ReadAt:
    return lambda offset, length: data[offset : offset + length]


def cpu_seconds(action: Callable[[], object]) -> float:
    started = time.process_time()
    action()
    return time.process_time() - started


def test_progressive_jpeg_with_a_repeated_scan_is_refused_before_decoding() -> None:
    # The pen test's file was 10000x10000 with 200 scans (33 s of CPU); 4 MP shows the same.
    bomb = samples.jpeg_with_repeated_scan((2000, 2000), repeats=200)
    with pytest.raises(Rejected, match="scans"):
        intake(bomb)


def test_an_ordinary_progressive_jpeg_is_accepted() -> None:
    assert intake(samples.jpeg_with_repeated_scan((2000, 2000), repeats=1)).width == 2000
    assert intake(samples.noisy_jpeg((1200, 900), progressive=True)).height == 900


def test_a_baseline_jpeg_with_repeated_scans_costs_one_scan_and_is_refused() -> None:
    # Its scans are not counted (the decoder of a one-scan sequential JPEG reads no other), so
    # what bounds its cost is libjpeg stopping at the second scan: checked here, in CPU time.
    single = samples.noisy_jpeg((800, 600))
    sos, end = single.index(b"\xff\xda"), single.rindex(b"\xff\xd9")
    repeated = single[:end] + single[sos:end] * 60 + single[end:]  # inside the size limit
    assert image_bytes.jpeg_scans(reads(repeated), len(repeated)) == 1
    once = max(cpu_seconds(lambda: intake(single)) for _ in range(3))  # the slowest: no flake on a busy CI
    started = time.process_time()
    with pytest.raises(Rejected, match="damaged or truncated"):
        intake(repeated)
    assert time.process_time() - started < 10 * once  # 60 scans decoded would cost about 60 x


def test_jpeg_scans_are_counted_unless_the_header_shows_one_scan_for_every_component() -> None:
    baseline = samples.noisy_jpeg((64, 48))
    assert image_bytes.jpeg_scans(reads(baseline), len(baseline)) == 1
    progressive = samples.jpeg_with_repeated_scan((64, 48), repeats=7)
    assert image_bytes.jpeg_scans(reads(progressive), len(progressive)) == progressive.count(b"\xff\xda")
    # A sequential frame of three components whose first scan carries one: the decoder reads
    # every scan, so each is counted.
    frame = b"\xff\xc0\x00\x11\x08\x00\x30\x00\x40\x03" + b"\x01\x11\x00\x02\x11\x01\x03\x11\x01"
    one_component = b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + b"\x12" * 10
    non_interleaved = b"\xff\xd8" + frame + one_component * 5 + b"\xff\xd9"
    assert image_bytes.jpeg_scans(reads(non_interleaved), len(non_interleaved)) == 5


def test_a_progressive_bomb_behind_a_long_header_is_still_refused() -> None:
    # 320 KB of APP15 segments push the first scan past the header that is read: every scan is
    # then counted.
    bomb = samples.jpeg_with_repeated_scan((2000, 2000), repeats=200)
    padding = (b"\xff\xef\xff\xff" + b"\x00" * 65533) * 5
    with pytest.raises(Rejected, match="scans"):
        intake(bomb[:2] + padding + bomb[2:])


def test_many_scans_over_many_pixels_are_refused() -> None:
    # 40 scans are within the count, but 40 passes over 100 MP are not.
    with pytest.raises(Rejected, match="scans"):
        intake(samples.jpeg_with_repeated_scan((10_000, 10_000), repeats=30))


@pytest.mark.parametrize("mode", ["RGB", "CMYK"])
def test_a_tiff_page_past_the_first_is_held_to_the_pixel_limit(mode: str) -> None:
    tiff = samples.tiff_pages(((16, 16), mode), ((1100, 1000), mode))
    with pytest.raises(Rejected, match="1100×1000 pixels, more than the 1-megapixel limit"):
        intake(tiff, max_pixels=1_000_000)


def test_a_multi_page_tiff_is_catalogued_by_its_largest_page_and_every_page_is_decoded() -> None:
    tiff = samples.tiff_pages(((16, 16), "RGB"), ((640, 480), "CMYK"), ((32, 32), "L"))
    info = intake(tiff, max_pixels=1_000_000)
    assert (info.width, info.height, info.frames) == (640, 480, 3)
    # A damaged last page is found: the decode reads every page to its end.
    with pytest.raises(Rejected, match="damaged or truncated"):
        intake(tiff[:-200], max_pixels=1_000_000)


def test_a_second_heic_image_is_held_to_the_pixel_limit() -> None:
    heic = samples.heic_images((64, 48), (1100, 1000))
    with pytest.raises(Rejected, match="1100×1000 pixels"):
        intake(heic, max_pixels=1_000_000)
    info = intake(samples.heic_images((64, 48), (300, 200)), max_pixels=1_000_000)
    assert (info.width, info.height, info.frames) == (300, 200, 2)


def test_a_script_in_the_middle_of_a_png_is_found() -> None:
    # 70 KB in: past the 64 KB the old engine looked at, at either end.
    with pytest.raises(Rejected, match="markup or script"):
        intake(samples.png_with_script_inside(offset=70 * 1024))


def test_a_zip_whose_local_header_is_far_from_both_ends_is_found() -> None:
    with pytest.raises(Rejected, match="another file format"):
        intake(samples.png_with_zip_appended())


def test_a_file_crowded_with_near_miss_markup_is_refused_without_checking_each() -> None:
    # No one sign is markup (no delimiter follows), but no photo holds a hundred of them.
    def png_holding(signs: bytes) -> bytes:
        pad = b"." * (70 * 1024)  # past the ends, where shorter signs count on their own
        return samples.flat_png(64, 48, extra_chunks=samples.png_chunk(b"tEXt", b"c\x00" + pad + signs + pad))

    with pytest.raises(Rejected, match="markup or script"):
        intake(png_holding(b"<htmlx" * 100))
    assert intake(png_holding(b"<htmlx" * 3)).width == 64


@pytest.mark.parametrize("seed", range(3))
def test_noisy_images_are_not_mistaken_for_polyglots(seed: int) -> None:
    # Compressed photo data looks random: random pixels make the hardest honest input.
    assert intake(samples.noisy_jpeg((2000, 1500), seed=seed)).width == 2000
    assert intake(samples.noisy_png((700, 500), seed=seed)).width == 700


def test_a_truncated_png_is_refused_by_the_streaming_decoder() -> None:
    data = samples.noisy_png((300, 200), seed=9)
    with pytest.raises(Rejected, match="damaged or truncated"):
        intake(data[: len(data) - 5000])


def test_libvips_reads_nothing_but_png_and_tiff() -> None:
    pyvips = decoders.vips()
    for hostile in (samples.svg_with_script(), samples.pdf(), samples.jpeg(1), samples.gif()):
        with pytest.raises(pyvips.Error):
            pyvips.Image.new_from_buffer(hostile, "")
    with pytest.raises(pyvips.Error):
        pyvips.Image.svgload_buffer(samples.svg_with_script())


MEASURE = textwrap.dedent(
    """
    import io, json, resource, sys
    from storage import images
    data = open(sys.argv[1], "rb").read()
    received = images.receive(io.BytesIO(data), max_bytes=len(data))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    info, preview = images.intake(received, max_pixels=100_000_000)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"width": info.width, "grew_kib": after - before, "preview": len(preview)}))
    """
)


def test_a_100_megapixel_png_costs_tens_of_mb_not_most_of_a_gb(tmp_path: Path) -> None:
    # The old engine held +773 MiB for this 316 KB file. Measured in a fresh process: peak RSS
    # is process-wide and only grows.
    path = tmp_path / "flat.png"
    path.write_bytes(samples.flat_png(10_000, 10_000))
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=120,
    )
    result = json.loads(done.stdout)
    assert result["width"] == 10_000 and result["preview"] > 0
    assert result["grew_kib"] < 160 * 1024, result


@pytest.mark.parametrize("chunk", [b"zTXt", b"iCCP"])
def test_png_text_and_profile_bombs_are_refused_from_the_headers(chunk: bytes) -> None:
    # 200 MB of zeros in 200 KB: Pillow inflates text and profiles only up to its own cap.
    bomb = zlib.compress(bytes(200 * 1024 * 1024), 9)
    data = samples.flat_png(64, 48, extra_chunks=samples.png_chunk(chunk, b"key\x00\x00" + bomb))
    received = images.receive(io.BytesIO(data), max_bytes=LIMIT)
    try:
        with pytest.raises(Rejected, match="damaged"):
            images.examine(received, max_pixels=100_000_000)
    finally:
        received.close()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(samples.noisy_jpeg((2000, 1500), progressive=True), id="progressive jpeg"),
        pytest.param(samples.heic_images((2000, 1500)), id="heic"),
    ],
)
def test_images_exactly_at_the_pixel_limit_are_accepted_and_one_pixel_less_refuses(data: bytes) -> None:
    assert intake(data, max_pixels=3_000_000).width == 2000
    with pytest.raises(Rejected, match="2000×1500 pixels, more than"):
        intake(data, max_pixels=2_999_999)
