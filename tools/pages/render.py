"""A page as an image (PDFs by PDFium, scans' images as they are), with boxes drawn over it."""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tools.pages.glyphs import PageMissing
from tools.pages.highlight import Box

# PDFium is not thread-safe: one call into it at a time in the process.
_PDFIUM = threading.Lock()
_FILL = (255, 214, 0, 96)
_EDGE = (224, 150, 0, 255)


def pdf_page_count(path: Path) -> int:
    import pypdfium2 as pdfium

    with _PDFIUM:
        pdf = pdfium.PdfDocument(str(path))
        try:
            return len(pdf)
        finally:
            pdf.close()


def _pdf_image(path: Path, page: int, width: int) -> Any:
    import pypdfium2 as pdfium

    with _PDFIUM:
        pdf = pdfium.PdfDocument(str(path))
        try:
            if not 1 <= page <= len(pdf):
                raise PageMissing(f"page {page}: the file has {len(pdf)} page(s)")
            found = pdf[page - 1]
            scale = width / found.get_width()
            return found.render(scale=scale).to_pil().convert("RGB")
        finally:
            pdf.close()


def _picture(path: Path, page: int, width: int) -> Any:
    from PIL import Image

    if page != 1:
        raise PageMissing(f"page {page}: an image has one page")
    with Image.open(path) as opened:
        picture = opened.convert("RGB")
    height = max(1, round(picture.height * width / picture.width))
    return picture.resize((width, height))


def page_png(path: Path, page: int, width: int, boxes: Sequence[Box]) -> bytes:
    """The page `width` pixels wide, PNG, with the boxes filled in a marker's yellow."""
    from PIL import Image, ImageDraw

    render = _pdf_image if path.suffix.lower() == ".pdf" else _picture
    image = render(path, page, width)
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    w, h = image.size
    for box in boxes:
        corners = (box.left * w - 1, box.top * h - 1, box.right * w + 1, box.bottom * h + 1)
        draw.rectangle(corners, fill=_FILL, outline=_EDGE, width=1)
    out = io.BytesIO()
    Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB").save(out, "PNG")
    return out.getvalue()
