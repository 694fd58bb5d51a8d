"""Small messy ledgers written by the tests themselves (xlsxwriter for .xlsx, csv for .csv)."""

import csv
import datetime
from pathlib import Path

import xlsxwriter

from minqing.registry.idnumbers import check_character

REGION = "150603"


def id_number(birth: str, seq: int = 1, *, female: bool = False) -> str:
    """A valid 18-digit number for a birth date like "19500302"."""
    order = seq * 2 + (0 if female else 1)
    body = f"{REGION}{birth}{order % 1000:03d}"
    return body + check_character(body)


def wrong_check(number: str) -> str:
    last = "0" if number[-1] != "0" else "1"
    return number[:-1] + last


def write_xlsx(
    path: Path, header: list[str], rows: list[list], *, title: str | None = "嘉和社区居民信息台账", filled_by=True
) -> Path:
    """A ledger as communities keep it: a merged title, a 填报单位/填报日期 line, then the header.
    Cells given as datetime.date become real date cells; ("serial", n) an Excel serial number shown
    as a date; floats stay numbers (the Excel-rounded ID)."""
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("台账")
    date_format = workbook.add_format({"num_format": "yyyy/m/d"})
    r = 0
    if title:
        sheet.merge_range(0, 0, 0, max(len(header) - 1, 1), title)
        r = 1
    if filled_by:
        sheet.write(r, 0, "填报单位：嘉和社区居委会")
        sheet.write(r, 3, "填报日期：2025年3月1日")
        r += 1
    for c, h in enumerate(header):
        sheet.write_string(r, c, h)
    for row in rows:
        r += 1
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, tuple) and value[0] == "serial":
                sheet.write_number(r, c, value[1], date_format)
            elif isinstance(value, datetime.date):
                sheet.write_datetime(r, c, datetime.datetime.combine(value, datetime.time()), date_format)
            elif isinstance(value, int | float):
                sheet.write_number(r, c, value)
            else:
                sheet.write_string(r, c, value)
    workbook.close()
    return path


def write_csv(path: Path, header: list[str], rows: list[list], *, encoding: str = "utf-8-sig") -> Path:
    with open(path, "w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["嘉和社区居民信息台账"])
        writer.writerow(header)
        writer.writerows(rows)
    return path


def excel_row(title: bool = True, filled_by: bool = True) -> int:
    """The Excel row number of the first data row written by write_xlsx."""
    return 1 + int(title) + int(filled_by) + 1
