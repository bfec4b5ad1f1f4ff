"""A real PDF of an official document, with Vietnamese text, to sign in tests, benches and the demo.

fpdf2 lays out the pages; the font is a Latin and Vietnamese subset of
DejaVu Sans shipped in `fonts/` (licence beside it), so the output is the same
on every machine, whatever fonts it has.
"""

from __future__ import annotations

import datetime as dt
import random
from importlib import resources
from pathlib import Path

from fpdf import FPDF

FONT_FAMILY = "DejaVuSans"

_BODY = (
    "Căn cứ Luật Tổ chức Chính phủ ngày 19 tháng 6 năm 2015; căn cứ Nghị định số "
    "30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư; xét đề nghị "
    "của Văn phòng Chính phủ về việc gửi, nhận văn bản điện tử giữa các cơ quan trong hệ "
    "thống hành chính nhà nước qua Trục liên thông văn bản quốc gia."
)


_BOTTOM = 80  # mm kept free at the foot of each page: room for the signature stamps


def font_path() -> Path:
    """The bundled TTF (DejaVu Sans, Latin and Vietnamese): for page text and signature stamps."""
    return Path(str(resources.files("signing.pades") / "fonts" / "DejaVuSans-Vietnamese.ttf"))


def make_pdf(
    *,
    title: str = "QUYẾT ĐỊNH về việc gửi, nhận văn bản điện tử",
    agency: str = "UỶ BAN NHÂN DÂN TỈNH THÁI BÌNH",
    number: str = "274/QĐ-UBND",
    pages: int = 2,
    padding_bytes: int = 0,
    date: dt.date | None = None,
) -> bytes:
    """A multi-page official document as PDF bytes.

    `padding_bytes` adds an incompressible embedded file of that size (for a
    benchmark's ~1 MB document) without changing what the pages show.
    """
    if pages < 1:
        raise ValueError("pages must be at least 1")
    day = date or dt.date(2019, 3, 12)
    pdf = FPDF(format="A4")
    pdf.set_creation_date(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC))
    pdf.set_title(title)
    pdf.set_author(agency)
    pdf.add_font(FONT_FAMILY, fname=str(font_path()))
    pdf.set_margins(25, 20, 20)
    pdf.set_auto_page_break(False)
    article = 0
    for page in range(1, pages + 1):
        pdf.add_page()
        pdf.set_font(FONT_FAMILY, size=11)
        if page == 1:
            _masthead(pdf, agency, number, title, day)
        while pdf.get_y() < pdf.h - _BOTTOM:  # as many articles as fit above the footer
            article += 1
            pdf.multi_cell(0, 6, f"Điều {article}. {_BODY}")
            pdf.ln(2)
        pdf.set_y(-20)
        pdf.cell(0, 6, f"Trang {page}/{pages}", align="C")
    if padding_bytes > 0:
        pdf.embed_file(
            bytes=random.Random(padding_bytes).randbytes(padding_bytes),
            basename="phu-luc.bin",
            desc="Phụ lục",
            modification_date=pdf.creation_date,
        )
    return bytes(pdf.output())


def _masthead(pdf: FPDF, agency: str, number: str, title: str, day: dt.date) -> None:
    pdf.set_font(FONT_FAMILY, size=12)
    pdf.cell(80, 6, agency, align="C")
    pdf.cell(0, 6, "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(80, 6, f"Số: {number}", align="C")
    pdf.cell(0, 6, "Độc lập - Tự do - Hạnh phúc", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(80, 6, "")
    pdf.cell(
        0,
        6,
        f"Thái Bình, ngày {day.day:02d} tháng {day.month:02d} năm {day.year}",
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(8)
    pdf.set_font(FONT_FAMILY, size=14)
    pdf.multi_cell(0, 8, title, align="C")
    pdf.ln(4)
    pdf.set_font(FONT_FAMILY, size=11)
