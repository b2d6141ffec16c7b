"""Vietnamese typed in the pre-Unicode font encodings (TCVN3/ABC `.VnTime`, VNI, VISCII): the
bytes read faithfully give mojibake ("céng hßa x· héi"); converted, they give Unicode NFC.
Detection and the conversion tables are viparse's (MIT): see the README for what it was
measured against."""

from __future__ import annotations

import re
import unicodedata

# Letters only Unicode Vietnamese has (ă â đ ê ô ơ ư and the precomposed tone letters): text
# holding a fair share of them is already Unicode, and detection (about 1.6 us a character) is
# skipped.
_UNICODE_VIETNAMESE = re.compile(r"[\u0102\u0103\u0110\u0111\u01a0\u01a1\u01af\u01b0\u1ea0-\u1ef9]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
ENCODINGS = {"tcvn3": "TCVN3", "vni": "VNI", "viscii": "VISCII", "vps": "VPS"}


def legacy_encoding(text: str) -> str | None:
    """ "tcvn3", "vni", "viscii" or "vps" when the text is Vietnamese in that encoding; None for
    Unicode, for text too short to judge, and for text that is not Vietnamese."""
    non_ascii = len(_NON_ASCII.findall(text))
    if not non_ascii or len(_UNICODE_VIETNAMESE.findall(text)) >= 0.2 * non_ascii:
        return None
    import viparse

    return viparse.detect_text_encoding(text)


def to_unicode(text: str, encoding: str | None = None) -> tuple[str, str | None]:
    """The text in Unicode NFC, and the legacy encoding it was converted from (None: it was
    Unicode already). `encoding` names it when the source says so (a `.VnTime` font)."""
    found = encoding or legacy_encoding(text)
    if found is None:
        return unicodedata.normalize("NFC", text), None
    import viparse

    return viparse.fix(text, encoding=found), found


def font_encoding(font: str | None) -> str | None:
    """The encoding a legacy font name implies: `.VnTime` -> tcvn3, `VNI-Times` -> vni."""
    if not font:
        return None
    name = font.strip().lower()
    if name.startswith(".vn"):
        return "tcvn3"
    if name.startswith("vni-") or name.startswith("vni "):
        return "vni"
    if name.startswith("vps"):
        return "vps"
    return None
