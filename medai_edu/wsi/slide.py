"""One small interface over whole-slide image files, read with OpenSlide or tifffile.

A whole-slide image is a pyramid: level 0 at full resolution, then copies 2, 4, 8, ... times
smaller. :func:`open_slide` returns a :class:`Slide` whatever the file: vendor formats
(Aperio ``.svs``, Hamamatsu, MIRAX, ...) through OpenSlide, and ``.tif``/``.tiff`` files
through tifffile, which decodes generic pyramidal TIFFs faster and also reads TIFFs that
OpenSlide refuses (single-level or striped ones); each backend falls back to the other for
a TIFF it cannot read. Both backends answer in the same units:

* locations are level-0 pixel coordinates ``(x, y)``, sizes are ``(width, height)`` in pixels
  of the level read, as in OpenSlide;
* pixels are RGB ``uint8`` arrays of shape ``(height, width, 3)``; the part of a region that
  overhangs the slide's edge is white, like empty glass.

A file that cannot be read raises :class:`SlideOpenError` (a ``ValueError``) whose message
says what is wrong: not a slide format, a truncated file, a compression that cannot be
decoded.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["Slide", "SlideOpenError", "open_slide", "resize_rgb"]

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF
_MICRONS_PER_UNIT = {2: 25400.0, 3: 10000.0}  # TIFF ResolutionUnit: 2 = inch, 3 = centimetre
BACKENDS = ("auto", "openslide", "tifffile")
TIFF_CACHE_BYTES = 32 * 2**20  # decoded-tile cache of the tifffile backend, per open slide


class SlideOpenError(ValueError):
    """A slide file exists but cannot be read: unsupported format, truncated or corrupt."""


def resize_rgb(image: np.ndarray, size_wh: tuple[int, int]) -> np.ndarray:
    """Resize an RGB image to ``size_wh = (width, height)`` pixels.

    Shrinking averages the pixels each output pixel covers (box filter), as a scanner with
    coarser pixels would record; enlarging interpolates bilinearly.

    Parameters
    ----------
    image : np.ndarray, shape (H, W, 3), uint8
    size_wh : tuple of int

    Returns
    -------
    np.ndarray, shape (size_wh[1], size_wh[0], 3), uint8
    """
    width, height = int(size_wh[0]), int(size_wh[1])
    if (image.shape[1], image.shape[0]) == (width, height):
        return image
    shrinking = width <= image.shape[1] and height <= image.shape[0]
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(image).resize((width, height), method))


class Slide(ABC):
    """A whole-slide image opened for reading (use :func:`open_slide` to make one).

    Attributes
    ----------
    path : Path
        The file.
    backend : {"openslide", "tifffile"}
        The library that reads the pixels.
    level_dimensions : tuple of (int, int)
        ``(width, height)`` of every level, level 0 first.
    level_downsamples : tuple of float
        How many level-0 pixels one pixel of each level spans (1.0 for level 0). Computed as
        OpenSlide does: the mean of the width and height ratios.
    mpp : float or None
        Microns per pixel at level 0, or None when the file does not record it.
    magnification : float or None
        Objective power when the file records it (Aperio ``AppMag``), else ``10 / mpp``
        (0.5 µm/px is a "20x" scan), else None.
    """

    path: Path
    backend: str
    level_dimensions: tuple[tuple[int, int], ...]
    level_downsamples: tuple[float, ...]
    mpp: float | None
    magnification: float | None

    def __init__(self) -> None:
        self._closed = False

    # ----------------------------------------------------------------------------------
    # Geometry
    # ----------------------------------------------------------------------------------

    @property
    def level_count(self) -> int:
        return len(self.level_dimensions)

    @property
    def dimensions(self) -> tuple[int, int]:
        """``(width, height)`` of level 0 in pixels."""
        return self.level_dimensions[0]

    def best_level_for_downsample(self, downsample: float) -> int:
        """The coarsest level whose downsample is at most ``downsample`` (0 if none is).

        Reading that level and shrinking it never enlarges pixels, so no detail is invented.
        """
        if not downsample > 0:
            raise ValueError(f"downsample must be positive, got {downsample!r}")
        fits = [k for k, d in enumerate(self.level_downsamples) if d <= downsample * (1 + 1e-9)]
        return max(fits, default=0)

    # ----------------------------------------------------------------------------------
    # Pixels
    # ----------------------------------------------------------------------------------

    def read_region(
        self, location: tuple[int, int], level: int, size: tuple[int, int]
    ) -> np.ndarray:
        """Read a rectangle of one level.

        Parameters
        ----------
        location : (int, int)
            ``(x, y)`` of the top-left corner in **level-0** pixels.
        level : int
            Pyramid level to read from, ``0 <= level < level_count``.
        size : (int, int)
            ``(width, height)`` in pixels **of that level**.

        Returns
        -------
        np.ndarray, shape (height, width, 3), uint8
            RGB. Pixels beyond the slide's edge are white (255).

        Raises
        ------
        ValueError
            For a level out of range, a non-positive size, a region that lies entirely
            outside the slide, or a closed slide.
        SlideOpenError
            When the file turns out to be corrupt while decoding the pixels.
        """
        self._check_open()
        if not 0 <= int(level) < self.level_count:
            raise ValueError(f"level must be in 0..{self.level_count - 1}, got {level!r}")
        x, y = (int(v) for v in location)
        width, height = (int(v) for v in size)
        if width < 1 or height < 1:
            raise ValueError(f"size must be (width, height) of positive integers, got {size!r}")
        downsample = self.level_downsamples[int(level)]
        slide_w, slide_h = self.dimensions
        x_end, y_end = x + width * downsample, y + height * downsample
        if x >= slide_w or y >= slide_h or x_end <= 0 or y_end <= 0:
            raise ValueError(
                f"region at level-0 (x, y) = ({x}, {y}) of size {width} x {height} at level "
                f"{level} lies outside the slide, whose level-0 size is {slide_w} x {slide_h}"
            )
        return self._read_region((x, y), int(level), (width, height))

    def read_overview(self, downsample: float) -> np.ndarray:
        """The whole slide shrunk ``downsample`` times, read from the best pyramid level.

        Returns
        -------
        np.ndarray, shape (round(H0 / downsample), round(W0 / downsample), 3), uint8
            Each side at least one pixel. Memory: the chosen level is read whole, which is
            less than 4x the result for a pyramid that halves at each level.
        """
        level = self.best_level_for_downsample(downsample)
        pixels = self.read_region((0, 0), level, self.level_dimensions[level])
        width, height = self.dimensions
        target = (max(1, round(width / downsample)), max(1, round(height / downsample)))
        return resize_rgb(pixels, target)

    def thumbnail(self, max_size: int = 512) -> np.ndarray:
        """The whole slide, shrunk so that its longer side is ``max_size`` pixels.

        Returns
        -------
        np.ndarray, shape (h, w, 3), uint8
            ``max(h, w) == max_size`` (never enlarged beyond level 0).
        """
        if int(max_size) < 1:
            raise ValueError(f"max_size must be a positive integer, got {max_size!r}")
        downsample = max(1.0, max(self.dimensions) / int(max_size))
        return self.read_overview(downsample)

    @abstractmethod
    def _read_region(
        self, location: tuple[int, int], level: int, size: tuple[int, int]
    ) -> np.ndarray:
        """Backend read of a validated region that overlaps the slide."""

    # ----------------------------------------------------------------------------------
    # Life cycle
    # ----------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the file; further reads raise ``ValueError``. Closing twice is harmless."""
        if not self._closed:
            self._closed = True
            self._close()

    @abstractmethod
    def _close(self) -> None: ...

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"the slide {self.path} is closed")

    def __enter__(self) -> Slide:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def __repr__(self) -> str:
        width, height = self.dimensions
        mpp = "unknown" if self.mpp is None else f"{self.mpp:.4g}"
        return (
            f"{type(self).__name__}({self.path.name!r}, {width}x{height}, "
            f"levels={self.level_count}, mpp={mpp}, backend={self.backend!r})"
        )


def _magnification(recorded: float | None, mpp: float | None) -> float | None:
    """Objective power: the recorded one, else the convention 10 µm / mpp (0.5 -> 20x)."""
    if recorded is not None and recorded > 0:
        return float(recorded)
    return None if mpp is None else 10.0 / mpp


def _level_downsamples(dimensions: tuple[tuple[int, int], ...]) -> tuple[float, ...]:
    """Mean of width and height ratios to level 0, as OpenSlide reports them."""
    w0, h0 = dimensions[0]
    return tuple((w0 / w + h0 / h) / 2 for w, h in dimensions)


# --------------------------------------------------------------------------------------
# OpenSlide backend
# --------------------------------------------------------------------------------------


def _float_property(properties, name: str) -> float | None:
    try:
        value = float(properties[name])
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None


class _OpenSlideSlide(Slide):
    """A slide read by OpenSlide; its premultiplied RGBA is composited onto the glass colour."""

    backend = "openslide"

    def __init__(self, path: Path, handle) -> None:
        super().__init__()
        import openslide

        self.path, self._handle = path, handle
        self.level_dimensions = tuple(tuple(int(v) for v in d) for d in handle.level_dimensions)
        self.level_downsamples = tuple(float(d) for d in handle.level_downsamples)
        props = handle.properties
        names = (openslide.PROPERTY_NAME_MPP_X, openslide.PROPERTY_NAME_MPP_Y)
        known = [m for m in (_float_property(props, n) for n in names) if m is not None]
        self.mpp = float(np.mean(known)) if known else None
        power = _float_property(props, openslide.PROPERTY_NAME_OBJECTIVE_POWER)
        self.magnification = _magnification(power, self.mpp)
        colour = props.get(openslide.PROPERTY_NAME_BACKGROUND_COLOR, "FFFFFF")
        self._background = np.array([int(colour[i : i + 2], 16) for i in (0, 2, 4)], np.float32)

    def _read_region(self, location, level, size) -> np.ndarray:
        import openslide

        try:
            rgba = np.asarray(self._handle.read_region(location, level, size))
        except openslide.OpenSlideError as err:
            raise SlideOpenError(f"{self.path}: OpenSlide could not decode pixels: {err}") from err
        alpha = rgba[..., 3:]
        if alpha.min() == 255:  # the usual case: fully inside the slide
            return np.ascontiguousarray(rgba[..., :3])
        # openslide-python un-premultiplies, so blend colour and glass by alpha.
        weight = alpha.astype(np.float32) / 255.0
        rgb = rgba[..., :3] * weight + self._background * (1.0 - weight)
        return np.rint(rgb).astype(np.uint8)

    def _close(self) -> None:
        self._handle.close()


# --------------------------------------------------------------------------------------
# tifffile backend
# --------------------------------------------------------------------------------------


def _tiff_mpp(page) -> float | None:
    """Microns per pixel from the resolution tags, or from an Aperio ``MPP = `` description."""
    resolution, unit = page.tags.get("XResolution"), page.tags.get("ResolutionUnit")
    if resolution is not None and unit is not None and int(unit.value) in _MICRONS_PER_UNIT:
        numerator, denominator = resolution.value
        if numerator > 0 and denominator > 0:
            return _MICRONS_PER_UNIT[int(unit.value)] * denominator / numerator
    return _aperio_value(page.description, "MPP")


def _aperio_value(description: str, key: str) -> float | None:
    """A number from an Aperio ``ImageDescription`` (``...|MPP = 0.4990|AppMag = 20|...``)."""
    for field in (description or "").split("|"):
        name, _, value = field.partition("=")
        if name.strip() == key:
            with contextlib.suppress(ValueError):
                number = float(value)
                return number if number > 0 else None
    return None


class _TiffFileSlide(Slide):
    """A pyramidal TIFF read tile by tile with tifffile (only the tiles a region touches).

    Decoded tiles are kept in an LRU cache of at most ``cache_bytes`` (``TIFF_CACHE_BYTES``,
    32 MiB like OpenSlide's default cache), because neighbouring regions share tiles.
    """

    backend = "tifffile"

    def __init__(self, path: Path, tif, cache_bytes: int) -> None:
        super().__init__()
        self.path, self._tif = path, tif
        self._pages = [level.keyframe for level in tif.series[0].levels]
        self.level_dimensions = tuple((int(p.imagewidth), int(p.imagelength)) for p in self._pages)
        self.level_downsamples = _level_downsamples(self.level_dimensions)
        self.mpp = _tiff_mpp(self._pages[0])
        self.magnification = _magnification(
            _aperio_value(self._pages[0].description, "AppMag"), self.mpp
        )
        self._lock = threading.Lock()  # one file handle and cache shared by threads
        self._cache: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self._cache_bytes, self._cached_bytes = cache_bytes, 0

    def _segment_shape(self, level: int) -> tuple[int, int]:
        """(rows, columns) of one stored tile, or of one strip for a striped TIFF."""
        page = self._pages[level]
        if page.is_tiled:
            return int(page.tilelength), int(page.tilewidth)
        return min(int(page.rowsperstrip), int(page.imagelength)), int(page.imagewidth)

    def _segment(self, level: int, index: int) -> np.ndarray:
        """Decoded tile/strip ``index`` of a level, (rows, columns, 3) uint8."""
        key = (level, index)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        page = self._pages[level]
        with self._lock:
            handle = self._tif.filehandle
            handle.seek(page.dataoffsets[index])
            data = handle.read(page.databytecounts[index])
        try:
            segment, _, shape = page.decode(data or None, index, jpegtables=page.jpegtables)
        except Exception as err:  # noqa: BLE001 - codec errors come in many types
            raise SlideOpenError(
                f"{self.path}: cannot decode tile {index} of level {level}: {err}"
            ) from err
        if segment is None:  # an empty (never written) tile
            segment = np.full(shape, 255, np.uint8)
        segment = np.ascontiguousarray(np.asarray(segment).reshape(shape[-3:])[..., :3])
        with self._lock:
            if key not in self._cache:  # another thread may have decoded it meanwhile
                self._cache[key] = segment
                self._cached_bytes += segment.nbytes
            while self._cached_bytes > self._cache_bytes and self._cache:
                self._cached_bytes -= self._cache.popitem(last=False)[1].nbytes
        return segment

    def _read_region(self, location, level, size) -> np.ndarray:
        downsample = self.level_downsamples[level]
        # The level pixel that contains the level-0 point (tolerant to float error).
        x, y = (math.floor(v / downsample + 1e-6) for v in location)
        width, height = size
        level_w, level_h = self.level_dimensions[level]
        out = np.full((height, width, 3), 255, np.uint8)
        x0, x1 = max(x, 0), min(x + width, level_w)
        y0, y1 = max(y, 0), min(y + height, level_h)
        if x0 >= x1 or y0 >= y1:
            return out  # overlaps at level 0 but rounds to nothing at this level
        rows, cols = self._segment_shape(level)
        per_row = -(-level_w // cols)
        for r in range(y0 // rows, (y1 - 1) // rows + 1):
            for c in range(x0 // cols, (x1 - 1) // cols + 1):
                segment = self._segment(level, r * per_row + c)
                top, left = r * rows, c * cols
                sy0, sy1 = max(y0, top), min(y1, top + segment.shape[0])
                sx0, sx1 = max(x0, left), min(x1, left + segment.shape[1])
                out[sy0 - y : sy1 - y, sx0 - x : sx1 - x] = segment[
                    sy0 - top : sy1 - top, sx0 - left : sx1 - left
                ]
        return out

    def _close(self) -> None:
        self._tif.close()
        self._cache.clear()
        self._cached_bytes = 0


# --------------------------------------------------------------------------------------
# Opening
# --------------------------------------------------------------------------------------


class _WarningLog(logging.Handler):
    """Collects tifffile's warnings (it logs, rather than raises, on broken IFD chains)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _tifffile_warnings():
    logger = logging.getLogger("tifffile")
    handler, propagate = _WarningLog(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False  # keep them off the console: they become our error message
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _check_tiff_complete(path: Path) -> None:
    """Raise :class:`SlideOpenError` if a TIFF file is truncated or its directories broken.

    A truncated file still has its first directory, so readers open it; tifffile then logs
    an invalid page offset, or lists tiles that end beyond the end of the file.
    """
    import tifffile

    size = path.stat().st_size
    with _tifffile_warnings() as warnings:
        try:
            with tifffile.TiffFile(path) as tif:
                pages = list(tif.pages)  # walks every directory of the chain
                segments = [(p.dataoffsets, p.databytecounts) for p in pages]
        except Exception as err:  # noqa: BLE001 - tifffile raises many types on corrupt files
            raise SlideOpenError(f"{path} is a corrupt TIFF file: {err}") from err
    problems = list(warnings)
    for index, (offsets, counts) in enumerate(segments):
        ends = [o + n for o, n in zip(offsets, counts, strict=True) if n]
        if ends and max(ends) > size:
            problems.append(
                f"image data of page {index} ends at byte {max(ends):,} but the file has "
                f"only {size:,} bytes"
            )
    if problems or not segments:
        detail = "; ".join(problems) or "it has no image"
        raise SlideOpenError(f"{path} is truncated or corrupt: {detail}")


def _tifffile_slide(path: Path) -> _TiffFileSlide:
    """The slide through tifffile; SlideOpenError for pixels other than 8-bit RGB or a
    compression it cannot decode (JPEG needs the optional ``imagecodecs``)."""
    import tifffile

    tif = tifffile.TiffFile(path)
    page = tif.series[0].levels[0].keyframe
    if page.dtype != np.uint8 or page.samplesperpixel < 3 or int(page.planarconfig) != 1:
        tif.close()
        raise SlideOpenError(
            f"{path}: tifffile reads only 8-bit interleaved RGB, this TIFF has dtype "
            f"{page.dtype}, {page.samplesperpixel} samples, planar configuration "
            f"{int(page.planarconfig)}"
        )
    slide = _TiffFileSlide(path, tif, cache_bytes=TIFF_CACHE_BYTES)
    try:  # decode one tile now, so that a missing codec fails here and not mid-pipeline
        slide.read_region((0, 0), slide.level_count - 1, (1, 1))
    except SlideOpenError:
        slide.close()
        raise
    return slide


def _openslide_slide(path: Path) -> _OpenSlideSlide | None:
    """The slide through OpenSlide, or None if OpenSlide does not recognise the format."""
    import openslide

    try:
        return _OpenSlideSlide(path, openslide.OpenSlide(path))
    except openslide.OpenSlideUnsupportedFormatError:
        return None
    except openslide.OpenSlideError as err:
        raise SlideOpenError(f"{path}: OpenSlide recognises the format but failed: {err}") from err


def _backend_order(backend: str, path: Path, is_tiff: bool) -> list[str]:
    """Backends to try. tifffile first for ``.tif``/``.tiff``: it decodes generic pyramidal
    TIFFs about 3x faster than OpenSlide, which composites every region through cairo."""
    if backend != "auto":
        return [backend]
    if is_tiff and path.suffix.lower() in (".tif", ".tiff"):
        return ["tifffile", "openslide"]
    return ["openslide", "tifffile"] if is_tiff else ["openslide"]


def open_slide(path: str | Path, backend: str = "auto") -> Slide:
    """Open a whole-slide image file for reading.

    Parameters
    ----------
    path : str or Path
        A slide file: any format OpenSlide reads (``.svs``, ``.ndpi``, ``.mrxs``, tiled
        ``.tif``, ...) or an 8-bit RGB TIFF (pyramidal or not) that tifffile decodes.
    backend : {"auto", "openslide", "tifffile"}
        ``"auto"`` reads ``.tif``/``.tiff`` files with tifffile (faster on generic pyramidal
        TIFFs) and everything else with OpenSlide, each falling back to the other for a
        TIFF it cannot read. Both give the same geometry and (nearly) the same pixels on a
        TIFF that both read; OpenSlide interpolates when a level-0 location falls between
        the pixels of a coarser level, tifffile takes the pixel containing it.

    Returns
    -------
    Slide
        Close it, or use it in a ``with`` block.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    SlideOpenError
        If the file is empty, truncated, corrupt or in a format neither backend reads; the
        message says which.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"slide file not found: {path}")
    if path.is_dir():
        raise SlideOpenError(f"{path} is a folder, not a slide file")
    with open(path, "rb") as handle:
        head = handle.read(8)
    if not head:
        raise SlideOpenError(f"{path} is empty (0 bytes): not a slide")
    is_tiff = head[:4] in _TIFF_MAGIC
    if is_tiff:
        _check_tiff_complete(path)
    reasons = []
    for name in _backend_order(backend, path, is_tiff):
        if name == "openslide":
            slide = _openslide_slide(path)
            if slide is not None:
                return slide
            layout = "this TIFF's layout" if is_tiff else "the format"
            reasons.append(f"OpenSlide does not support {layout}")
        elif is_tiff:
            try:
                return _tifffile_slide(path)
            except SlideOpenError as err:
                reasons.append(str(err).removeprefix(f"{path}: "))
    if not is_tiff:
        reasons.append(f"it is not a TIFF file (it starts with the bytes {head!r})")
    raise SlideOpenError(f"{path}: unsupported slide format: {'; '.join(reasons)}")
