"""Images with real text in them, for the OCR (vision track) tests."""

from __future__ import annotations

import io


def text_image(lines: list[str], *, size: int = 36, fmt: str = "PNG") -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=size)
    width = max(int(font.getlength(line)) for line in lines) + 80
    image = Image.new("RGB", (width, (size + 20) * len(lines) + 60), "white")
    draw = ImageDraw.Draw(image)
    for n, line in enumerate(lines):
        draw.text((40, 30 + n * (size + 20)), line, fill="black", font=font)
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()
