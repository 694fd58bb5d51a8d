"""A large messy 居民信息台账 for the import benchmark, the same file for the same seed.

    python bench/ledger_gen.py OUT.xlsx [--rows 100000] [--seed 1]

What a real community sheet holds: a merged title and a 填报单位 line above the header, an address
as one text, dates as text in several spellings, as date cells and as serial numbers, IDs with
spaces, full-width digits or a lowercase x, phones with dashes and landlines, tags separated by
、，/ and "无", blank rows, people listed twice, ~1% bad rows (check digit, Excel-rounded, birth
date mismatch, no name) and a 合计 footer. Households of 1–5 people share an address; buildings 7
and up do not exist in the demo and are created in the grid the 网格 column names."""

import argparse
import datetime
import random
import sys
from pathlib import Path

import xlsxwriter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from minqing.registry.idnumbers import check_character  # noqa: E402

HEADER = ["序号", "居民姓名", "性别", "公民身份号码", "出生日期", "民族", "手机号码", "现住址", "网格",
          "与户主关系", "政治面貌", "人员类别", "备注"]  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红建国建华志强春梅海燕德明文博子涵浩然梓轩欣怡"
RELATIONS = ["配偶", "子", "女", "父亲", "母亲", "孙子", "孙女", "儿媳"]
TAGS = ["独居老人", "空巢老人", "低保", "特困/五保", "优抚对象", "退役军人", "留守儿童", "残疾（肢体2级）", "残疾二级"]
MOBILE_BLOCKS = (
    [f"13{d}" for d in range(10)]
    + ["150", "151", "152", "153", "155", "156", "157", "158", "159"]
    + [f"18{d}" for d in range(10)]
)
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
EXCEL_EPOCH = datetime.date(1899, 12, 30)


def id_number(birth: datetime.date, female: bool, serial: int) -> str:
    order = serial * 2 + (0 if female else 1)
    body = f"150603{birth:%Y%m%d}{order:03d}"
    return body + check_character(body)


def generate(path: Path, rows: int = 100_000, seed: int = 1) -> Path:
    rng = random.Random(seed)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("居民信息台账")
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet.merge_range(0, 0, 0, len(HEADER) - 1, "嘉和社区居民信息台账")
    sheet.write_string(1, 0, "填报单位：嘉和社区居委会")
    sheet.write_string(1, 6, "填报日期：2025年3月1日")
    for c, h in enumerate(HEADER):
        sheet.write_string(2, c, h)
    r = 2
    person = 0
    dwelling = 0
    written = 0
    previous: list = []
    born_that_day: dict = {}
    while written < rows:
        dwelling += 1
        building = 1 + dwelling // 200  # 200 dwellings a building: 2 units × 25 floors × 4 rooms
        within = dwelling % 200
        unit, floor, room = 1 + within // 100, 1 + (within % 100) // 4, 1 + within % 4
        address = f"嘉和苑{building}号楼{unit}单元{floor}{room:02d}室"
        if building <= 6:
            address = f"嘉和苑{building}号楼{unit}单元{min(floor, 4)}0{min(room, 2)}室"
        grid = f"嘉和社区第{1 + building % 3}网格"
        for member in range(rng.choice([1, 2, 2, 3, 3, 3, 4, 5])):
            if written >= rows:
                break
            person += 1
            r += 1
            written += 1
            female = rng.random() < 0.5
            birth = datetime.date(1930, 1, 1) + datetime.timedelta(days=rng.randrange(0, 365 * 90))
            born_that_day[birth] = born_that_day.get(birth, 0) + 1
            number = id_number(birth, female, born_that_day[birth])
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))
            kind = rng.random()
            shown_id: object = number
            if kind < 0.05:
                shown_id = f"{number[:6]} {number[6:14]} {number[14:]}"
            elif kind < 0.08:
                shown_id = number.translate(FULL_WIDTH)
            elif kind < 0.10:
                shown_id = number.lower()
            d = rng.random()
            if d < 0.3:
                birth_cell: object = birth
            elif d < 0.45:
                birth_cell = ("serial", (birth - EXCEL_EPOCH).days)
            elif d < 0.6:
                birth_cell = f"{birth.year}年{birth.month}月{birth.day}日"
            elif d < 0.75:
                birth_cell = f"{birth.year}.{birth.month}.{birth.day}"
            elif d < 0.85:
                birth_cell = f"{birth:%Y%m%d}"
            else:
                birth_cell = f"{birth:%Y/%m/%d}"
            p = rng.random()
            mobile = f"{rng.choice(MOBILE_BLOCKS)}{rng.randrange(10**7, 10**8)}"
            phone = (
                mobile if p < 0.5 else f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}" if p < 0.8
                else f"0477-{rng.randrange(8100000, 8999999)}" if p < 0.9 else ""
            )  # fmt: skip
            t = rng.random()
            tags = (
                "无" if t < 0.5 else "" if t < 0.8
                else rng.choice("、，/").join(rng.sample(TAGS[:7], rng.choice([1, 2]))) if t < 0.95
                else rng.choice(TAGS[7:])
            )  # fmt: skip
            relation = "户主" if member == 0 else rng.choice(RELATIONS)
            sex = "女" if female else "男"
            bad = rng.random()
            if bad < 0.003:
                shown_id = number[:-1] + ("0" if number[-1] != "0" else "1")
            elif bad < 0.005:
                shown_id = float(number[:17] + "0")
            elif bad < 0.007:
                birth_cell = f"{birth.year + 1}-01-01"
            elif bad < 0.009:
                name = ""
            row = [person, name, sex, shown_id, birth_cell, "汉族", phone, address, grid, relation,
                   rng.choice(["群众", "群众", "中共党员", "共青团员"]), tags, ""]  # fmt: skip
            _write(sheet, r, row, date_format)
            previous.append(row)
            if rng.random() < 0.002 and written < rows:  # the same person listed twice
                r += 1
                written += 1
                _write(sheet, r, rng.choice(previous[-20:]), date_format)
            if rng.random() < 0.001 and written < rows:  # a blank row
                r += 1
                written += 1
            if len(previous) > 100:
                previous = previous[-20:]
    r += 1
    sheet.write_string(r, 0, "合计")
    sheet.write_string(r, 1, f"{person}人")
    workbook.close()
    return path


def _write(sheet, r: int, row: list, date_format) -> None:
    for c, value in enumerate(row):
        if value is None or value == "":
            continue
        if isinstance(value, tuple):
            sheet.write_number(r, c, value[1], date_format)
        elif isinstance(value, datetime.date):
            sheet.write_datetime(r, c, datetime.datetime.combine(value, datetime.time()), date_format)
        elif isinstance(value, int | float):
            sheet.write_number(r, c, value)
        else:
            sheet.write_string(r, c, value)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    generate(Path(args.out), rows=args.rows, seed=args.seed)
