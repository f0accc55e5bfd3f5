"""Text from images through Tesseract OCR (Debian's ``tesseract-ocr``, via pytesseract)."""

from __future__ import annotations

import io

from catalyst_orchestration.lib.failures import CorruptDocument, PermanentDocumentError


class OcrUnavailable(PermanentDocumentError):
    error = "OcrUnavailable"


def ocr_image(data: bytes) -> str:
    """The text Tesseract reads in an image (PNG, JPEG, TIFF, GIF, WebP, BMP)."""
    import pytesseract
    from PIL import Image, UnidentifiedImageError

    try:
        image: Image.Image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise CorruptDocument(f"unreadable image: {exc}") from exc
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    try:
        text: str = pytesseract.image_to_string(image)
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrUnavailable(
            "tesseract is not installed: apt-get install tesseract-ocr (images need OCR)"
        ) from exc
    return " ".join(text.split())
