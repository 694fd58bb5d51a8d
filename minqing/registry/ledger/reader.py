"""A ledger sheet as it comes (.xlsx, .xls, .ods, .csv) → its header and its data rows.

Community ledgers put a title, a 填报单位/填报日期 line and merged cells above the header, and name
the same column many ways; the header is found by what it says, not where it is."""

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _
from python_calamine import CalamineWorkbook

from minqing.core.errors import ApplicationError

# field → the names ledgers give its column (compared after normalise_header).
COLUMN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "居民姓名", "人员姓名", "成员姓名", "名字"),
    "id_number": ("身份证号码", "身份证号", "公民身份号码", "公民身份证号码", "证件号码", "证件号", "身份证"),
    "document_kind": ("证件类型", "证件种类"),
    "sex": ("性别",),
    "birth_date": ("出生日期", "出生年月", "出生年月日", "生日"),
    "ethnicity": ("民族",),
    "phone": ("联系电话", "手机号码", "手机号", "电话", "手机", "联系方式", "电话号码"),
    "relation": ("与户主关系", "与户主的关系", "户主关系", "关系"),
    "household_number": ("户号", "户编号"),
    "registration_type": ("户籍类型", "人口类型", "户口类型", "人员类型", "居住类型"),
    "political_status": ("政治面貌",),
    "occupation": ("职业",),
    "employer": ("工作单位", "单位"),
    "skills": ("特长技能", "特长", "技能"),
    "willing_to_serve": ("愿意参与社区事务", "志愿者", "是否志愿者"),
    "notes": ("备注",),
    "health_notes": ("健康状况", "身体状况"),
    "moved_in_on": ("迁入日期", "入住日期", "迁入时间", "入住时间"),
    "address": ("住址", "地址", "家庭住址", "现住址", "居住地址", "房屋地址", "现居住地址"),
    "estate": ("小区", "小区名称", "所在小区"),
    "building": ("楼栋", "楼号", "楼栋号", "楼"),
    "unit": ("单元", "单元号"),
    "room": ("房号", "门牌号", "房间号", "室", "户室号"),
    "grid": ("网格", "所属网格", "网格名称"),
    "tags": ("标签", "人员类别", "特殊人群", "关爱标签", "人员标签", "重点人群", "人员属性"),
    "veteran": ("退役军人", "是否退役军人"),
}
_BY_HEADER = {unicodedata.normalize("NFKC", name): key for key, names in COLUMN_SYNONYMS.items() for name in names}
# What a header cell may carry besides its name: a required-marker, a hint in brackets, spaces.
_HEADER_NOISE = re.compile(r"[\s*＊:：]|[（(][^）)]*[）)]")
HEADER_SCAN_ROWS = 30


def normalise_header(text) -> str:
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", str(text or "")))


def header_field(text) -> str | None:
    return _BY_HEADER.get(normalise_header(text))


@dataclass
class Sheet:
    headers: list[str]  # as written in the ledger, one per column
    header_row: int  # 1-based, as Excel numbers rows
    columns: dict[str, int] = field(default_factory=dict)  # field → column index (first one wins)
    extra_tag_columns: list[int] = field(default_factory=list)  # further 标签-like columns
    rows: list[tuple[int, list]] = field(default_factory=list)  # (Excel row number, cells)

    def header_of(self, key: str) -> str | None:
        index = self.columns.get(key)
        return self.headers[index] if index is not None else None


def _cell_text(value) -> str:
    return "" if value is None else str(value).strip()


def _rows_from_csv(data: bytes) -> list[list]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ApplicationError(_("无法识别文件的字符编码，请另存为 UTF-8 或 .xlsx 后再导入"), field="file")
    return list(csv.reader(io.StringIO(text, newline="")))


def _rows_from_workbook(path: Path) -> list[list]:
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types per format
        raise ApplicationError(_("无法读取该文件：%(error)s") % {"error": str(exc)[:200]}, field="file") from None
    best: list[list] = []
    best_score = -1
    for name in workbook.sheet_names:
        try:
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception:  # a chart sheet or an unreadable one is passed over
            continue
        score = max((_score(row) for row in rows[:HEADER_SCAN_ROWS]), default=0)
        if score > best_score:
            best, best_score = rows, score
    return best


def _score(row: list) -> int:
    return len({header_field(cell) for cell in row if header_field(cell)})


def read_rows(path: Path | str, file_name: str = "") -> list[list]:
    path = Path(path)
    suffix = Path(file_name or path.name).suffix.lower()
    if suffix in (".csv", ".txt"):
        return _rows_from_csv(path.read_bytes())
    if suffix in (".xlsx", ".xlsm", ".xls", ".ods", ".xlsb"):
        return _rows_from_workbook(path)
    raise ApplicationError(_("只支持 .xlsx、.xls、.ods 和 .csv 文件"), field="file")


def read_sheet(path: Path | str, file_name: str = "") -> Sheet:
    rows = read_rows(path, file_name)
    return detect(rows)


def detect(rows: list[list]) -> Sheet:
    """Find the header row by its content: the first row among the top ones naming the most known
    columns, with a name or an ID-number column. A two-row header (地址 merged over 小区/楼栋/单元/
    房号, 姓名 merged down) is read by filling the empty cells of the chosen row from the row above."""
    best_index, best_score = None, 0
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        keys = {header_field(cell) for cell in row} - {None}
        if not keys & {"name", "id_number"}:
            continue
        if len(keys) > best_score:
            best_index, best_score = index, len(keys)
    if best_index is None or best_score < 2:
        raise ApplicationError(
            _("未找到表头：前 %(n)d 行中没有同时写有“姓名”或“身份证号码”等列名的一行") % {"n": HEADER_SCAN_ROWS},
            field="file",
        )
    headers = [_cell_text(cell) for cell in rows[best_index]]
    if best_index > 0:
        above = rows[best_index - 1]
        for i, cell in enumerate(above[: len(headers)]):
            if not headers[i] and header_field(cell):
                headers[i] = _cell_text(cell)
    sheet = Sheet(headers=headers, header_row=best_index + 1)
    for i, header in enumerate(headers):
        key = header_field(header)
        if key is None:
            continue
        if key in sheet.columns:
            if key == "tags":
                sheet.extra_tag_columns.append(i)
            continue
        sheet.columns[key] = i
    width = len(headers)
    # A ledger repeats most of its text (民族, 网格, 与户主关系, one address per household) and the
    # workbook reader gives each cell its own string: one copy each keeps a 100,000-row sheet ~30 MB
    # smaller while it is planned and written. The rows read are let go as they are copied.
    pool: dict[str, str] = {}
    for index in range(best_index + 1, len(rows)):
        cells = [pool.setdefault(c, c) if type(c) is str else c for c in rows[index][:width]]
        rows[index] = None
        if len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        sheet.rows.append((index + 1, cells))
    return sheet
