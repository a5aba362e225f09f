"""Image engine rows: `Library.upload` against its floor, memory per upload, a mixed burst.

The floor of an upload is the longer of the two things it cannot avoid, each measured on the
same bytes in the same round: a plain put to the same emulator, and one reduced-scale decode
that still reads every byte (Pillow's JPEG draft decode, libvips' sequential PNG thumbnail,
libheif's decode for HEIC, which has no reduced scale).
HEIC is measured at 12 MP: see `_make_inputs`. Memory is the peak RSS growth of one
upload in a new process (RSS never shrinks); the mixed burst runs 8 uploads at once in one
process under the default decode budget and samples RSS throughout.
"""

from __future__ import annotations

import io
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

from PIL import Image

from bench.stand import log
from bench.storage_bench import MIB, PeakRss, make_store, put_plain, seed_catalog, timed
from bench.table import Row
from storage.blobstore import GcsBlobStore
from storage.embedded import FakeGcsProcess
from storage.library import Library, LibraryPolicy

FLOOR_TARGET = 1.25
FLOOR_TARGET_OTHERS = 1.5
MEMORY_TARGET = 64 * MIB


def decode_rows(rounds: int) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="cloudbox-bench-decode-") as tmp:
        work = Path(tmp)
        inputs = _make_inputs(work)
        emulator = FakeGcsProcess(root=work / "gcs").start()
        try:
            store = make_store(emulator, "bench-decode", work / "key.json")
            for name, target in (
                ("12 MP baseline JPEG", FLOOR_TARGET),
                ("12 MP progressive JPEG", FLOOR_TARGET_OTHERS),
                ("12 MP HEIC", FLOOR_TARGET_OTHERS),
                ("24 MP PNG", FLOOR_TARGET_OTHERS),
            ):
                log(f"decode: Library.upload of a {name} x {rounds}")
                rows += _floor_rows(emulator, store, work, name, inputs[name], rounds, target)
            for name in ("100 MP PNG", "48 MP baseline JPEG", "48 MP progressive JPEG", "12 MP HEIC"):
                log(f"decode: peak RSS of one upload of a {name}, new process")
                growth = _fresh_process_growth(emulator.url, store.bucket_name, work, inputs[name])
                target = name in ("100 MP PNG", "48 MP baseline JPEG")
                rows.append(
                    Row(
                        f"Library.upload peak RSS growth: {name} ({_mib(inputs[name])})",
                        "MiB",
                        1,
                        growth / MIB,
                        target="<= 64 MiB" if target else "",
                        ok=growth <= MEMORY_TARGET if target else None,
                        note="new process",
                    )
                )
            log("decode: 8 concurrent max-size uploads of mixed formats")
            rows.append(_mixed_burst(store, work, inputs))
        finally:
            emulator.stop()
    return rows


def _make_inputs(work: Path) -> dict[str, Path]:
    from tests.standins.images import flat_png

    def photo(size: tuple[int, int]) -> Image.Image:
        noise = Image.effect_noise(size, 40)
        gradient = Image.linear_gradient("L").resize(size)
        return Image.merge("RGB", (noise, gradient, noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))

    made: dict[str, Path] = {}

    def save(name: str, img: Image.Image, fmt: str, **kw: object) -> None:
        path = work / (name.replace(" ", "-") + "." + fmt.lower())
        img.save(path, fmt, **kw)
        made[name] = path

    import pillow_heif

    pillow_heif.register_heif_opener()
    twelve, twenty_four, forty_eight = photo((4000, 3000)), photo((6000, 4000)), photo((8000, 6000))
    save("12 MP baseline JPEG", twelve, "JPEG", quality=90)
    save("12 MP progressive JPEG", twelve, "JPEG", quality=90, progressive=True)
    save("12 MP HEIC", twelve, "HEIF", quality=80)
    save("24 MP PNG", twenty_four, "PNG", compress_level=6)
    save("48 MP baseline JPEG", forty_eight, "JPEG", quality=90)
    save("48 MP progressive JPEG", forty_eight, "JPEG", quality=90, progressive=True)
    # pillow-heif writes one HEVC picture, which libde265 does not decode at 24 or 48 MP (seen
    # here: "did not give a decompressed image"); phone HEICs that large are grids of tiles,
    # which pillow-heif cannot write. So HEIC is measured at 12 MP.
    flat = work / "100-MP-PNG.png"
    flat.write_bytes(flat_png(10_000, 10_000))
    made["100 MP PNG"] = flat
    return made


def floor_decode(path: Path) -> None:
    """The least decoding that still reads every byte of the file."""
    suffix = path.suffix
    if suffix == ".png":
        from storage.decoders import vips

        pyvips = vips()
        source = pyvips.Source.new_from_file(str(path))
        sequential = "access=sequential"
        thumb = pyvips.Image.thumbnail_source(source, 512, height=512, size="down", option_string=sequential)
        thumb.avg()
    elif suffix == ".jpeg":
        with Image.open(path) as img:
            img.draft("RGB", (512, 512))
            img.load()
    else:
        with Image.open(path) as img:
            img.load()


def _floor_rows(
    emulator: FakeGcsProcess,
    store: GcsBlobStore,
    work: Path,
    name: str,
    path: Path,
    rounds: int,
    target: float,
) -> list[Row]:
    seeded, engine, owner = seed_catalog(f"sqlite:///{work / (path.stem + '.sqlite3')}", 0)
    library = Library(seeded.catalog, store, LibraryPolicy(max_upload_bytes=200 * MIB))
    uploads: list[float] = []
    puts: list[float] = []
    decodes: list[float] = []
    try:
        data = path.read_bytes()
        # A first, unmeasured round: imports, the emulator's buffers, libvips' start-up.
        _one_upload(library, owner, _unique(data, 0))
        put_plain(emulator, store, path, f"warm/{path.name}")
        floor_decode(path)
        for n in range(1, rounds + 1):
            payload = _unique(data, n)  # made before the clock starts: 52 MB take 30 ms to copy
            uploads.append(_seconds(lambda payload=payload: _one_upload(library, owner, payload)))  # type: ignore[misc]
            puts.append(_seconds(lambda n=n: put_plain(emulator, store, path, f"plain/{n}/{path.name}")))  # type: ignore[misc]
            decodes.append(_seconds(lambda: floor_decode(path)))
    finally:
        engine.dispose()
    floors = [max(p, d) for p, d in zip(puts, decodes, strict=True)]
    vs_floor = statistics.median(u / f for u, f in zip(uploads, floors, strict=True))
    vs_put = statistics.median(p / u for u, p in zip(uploads, puts, strict=True))
    ms = [u * 1000 for u in uploads]
    return [
        Row.of(
            f"Library.upload {name} ({_mib(path)}): time vs its floor",
            "ms",
            ms,
            target=f"<= {target} x floor",
            ok=vs_floor <= target,
            baseline=statistics.median(floors) * 1000,
            ratio=vs_floor,
            note=f"floor: longer of plain put ({statistics.median(puts) * 1000:.0f} ms) and reduced-scale "
            f"decode ({statistics.median(decodes) * 1000:.0f} ms); ratio: median of per-round ratios",
        ),
        Row.of(
            f"Library.upload {name}: throughput vs a plain put alone (info)",
            "ms",
            ms,
            baseline=statistics.median(puts) * 1000,
            ratio=vs_put,
            note="put time / upload time, median of per-round ratios",
        ),
    ]


def _unique(data: bytes, n: int) -> bytes:
    """The image with different last bytes each time (after the image's end: ignored by
    decoders), so that no upload is answered as a duplicate of the one before."""
    return data + n.to_bytes(4, "big")


def _one_upload(library: Library, owner: object, payload: bytes) -> None:
    upload = library.upload(owner, io.BytesIO(payload), filename="bench")  # type: ignore[arg-type]
    assert upload.created


def _mib(path: Path) -> str:
    return f"{path.stat().st_size / MIB:.1f} MiB"


def _seconds(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _fresh_process_growth(url: str, bucket: str, work: Path, path: Path) -> int:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return int(pool.apply(_child_upload, (url, bucket, str(work), str(path))))


def _child_upload(url: str, bucket: str, work: str, path: str) -> int:
    store = make_store(SimpleNamespace(url=url), bucket, Path(work) / "key.json")  # type: ignore[arg-type]
    catalog = Path(work) / f"child-{Path(path).stem}.sqlite3"
    seeded, engine, owner = seed_catalog(f"sqlite:///{catalog}", 0)
    library = Library(seeded.catalog, store, LibraryPolicy(max_upload_bytes=200 * MIB))
    # Warm up with a tiny image of the same format: imports and libraries, not pixels.
    with Image.open(path) as img:
        fmt = img.format
    small = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(small, fmt)
    library.upload(owner, io.BytesIO(small.getvalue()), filename="warm")
    data = Path(path).read_bytes()
    _, growth = timed(lambda: library.upload(owner, io.BytesIO(data), filename="measured"))
    engine.dispose()
    return growth


def _mixed_burst(store: GcsBlobStore, work: Path, inputs: dict[str, Path]) -> Row:
    names = ["100 MP PNG", "48 MP progressive JPEG", "12 MP HEIC"]
    files = [inputs[names[i % 3]].read_bytes() for i in range(8)]
    seeded, engine, owner = seed_catalog(f"sqlite:///{work / 'burst.sqlite3'}", 0)
    policy = LibraryPolicy(max_upload_bytes=200 * MIB)
    library = Library(seeded.catalog, store, policy)
    try:
        # The bytes as they would arrive, made before the sampling starts: they are the bench's
        # (90 MiB of copies), not what the uploads cost.
        uploads = [io.BytesIO(_unique(data, i)) for i, data in enumerate(files)]
        with PeakRss() as rss, ThreadPoolExecutor(8) as pool:
            started = time.perf_counter()
            results = list(pool.map(lambda i: library.upload(owner, uploads[i], filename=str(i)), range(8)))
            seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    stored = sum(1 for r in results if r.created)
    limit = policy.decode_memory_bytes + MEMORY_TARGET
    return Row(
        "8 concurrent uploads, 100 MP PNG / 48 MP progressive JPEG / 12 MP HEIC: "
        f"peak RSS growth ({stored}/8 stored)",
        "MiB",
        8,
        rss.growth / MIB,
        target=f"<= budget + 64 = {limit // MIB} MiB",
        ok=rss.growth <= limit and stored == 8,
        note=f"one process, sampled every 2 ms; {seconds:.1f} s in all",
    )
