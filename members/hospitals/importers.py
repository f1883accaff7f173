"""Reading and checking hospital master-data files (Excel .xlsx or CSV in UTF-8 or GBK).

Pure parsing and validation: no writes. `read_rows` turns a file into rows of text; `validate_rows` checks every
row and returns clean values plus a row-by-row error report. Services (members/services/hospitals.py) store the
result and do the writing.
"""

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from members.hospitals.models import Hospital

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
MAX_ERRORS_KEPT = 1000
PREVIEW_ROWS = 20
# (field, Chinese header, English header, required)
COLUMNS = [
    ("name", "医院名称", "name", True),
    ("aliases", "别名", "aliases", False),
    ("province", "省份", "province", True),
    ("city", "城市", "city", True),
    ("district", "区县", "district", False),
    ("level", "等级", "level", False),
    ("grade", "等次", "grade", False),
    ("hospital_type", "类型", "type", False),
    ("beds", "床位数", "beds", False),
    ("yearly_outpatient_visits", "年门诊量", "yearly_outpatient_visits", False),
    ("address", "地址", "address", False),
    ("latitude", "纬度", "latitude", False),
    ("longitude", "经度", "longitude", False),
    ("departments", "科室", "departments", False),
]


TEMPLATE_HEADERS = [zh for _field, zh, _en, _required in COLUMNS]
_HEADER_TO_FIELD = {}


for _field_name, _zh, _en, _required in COLUMNS:
    _HEADER_TO_FIELD[_zh] = _field_name
    _HEADER_TO_FIELD[_en.lower()] = _field_name
    _HEADER_TO_FIELD[_field_name] = _field_name


_LABEL = {name: zh for name, zh, _en, _required in COLUMNS}
MAX_LENGTHS = {"name": 200, "province": 50, "city": 50, "district": 50, "address": 300}
MAX_ALIAS_LENGTH = 200
MAX_ALIASES = 20
MAX_INT = 2_147_483_647
LEVELS = {
    "三级": "3", "3": "3", "三": "3", "3级": "3",
    "二级": "2", "2": "2", "二": "2", "2级": "2",
    "一级": "1", "1": "1", "一": "1", "1级": "1",
    "未定级": "0", "未评级": "0", "0": "0", "": "0",
}


GRADES = {"甲": "甲", "甲等": "甲", "a": "甲", "乙": "乙", "乙等": "乙", "b": "乙", "丙": "丙", "丙等": "丙", "c": "丙",
          "": "", "无": ""}


TYPES = {
    "综合医院": "general", "综合": "general", "general": "general",
    "专科医院": "specialist", "专科": "specialist", "specialist": "specialist",
    "中医医院": "tcm", "中医院": "tcm", "中医": "tcm", "tcm": "tcm",
    "社区卫生服务中心": "community", "社区": "community", "community": "community",
    "": "general",
}


_LEVEL_GRADE = re.compile(r"^([一二三123])级\s*([甲乙丙])等?$")
_LIST_SPLIT = re.compile(r"[;；,，、|/\n]+")
# A cell starting with one of these becomes a formula when the data is exported to a spreadsheet again.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class ImportFileError(Exception):
    """The file as a whole cannot be read (wrong type, encoding, size, no header)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class RowError:
    line: int
    column: str
    reason: str

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "reason": self.reason}


@dataclass
class ValidationResult:
    total_rows: int = 0
    rows: list[dict] = field(default_factory=list)  # clean values, with "line"
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0

    def add(self, line: int, column: str, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(RowError(line, column, reason))

    def errors_as_json(self) -> list[dict]:
        data = [error.as_dict() for error in self.errors]
        hidden = self.error_count - len(self.errors)
        if hidden > 0:
            data.append({"line": None, "column": "",
                         "reason": _("%(count)d more errors are not listed; fix the ones above first.")
                         % {"count": hidden}})
        return data

    def preview(self) -> list[dict]:
        return [preview_row(row) for row in self.rows[:PREVIEW_ROWS]]


_BINARY_SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"%PDF", b"Rar!", b"\x1f\x8b", b"7z\xbc\xaf", b"BM")
SNIFF_BYTES = 8192


def sniff_kind(head: bytes) -> str:
    """'xlsx' or 'csv' from the first SNIFF_BYTES of the content (the extension is not trusted)."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError("import_old_excel", _("This is an old Excel (.xls) file. Save it as .xlsx or CSV."))
    if head.startswith(_BINARY_SIGNATURES) or b"\x00" in head:
        raise ImportFileError("import_wrong_type", _("This is neither an Excel (.xlsx) file nor a CSV file."))
    return "csv"


def read_rows(fileobj) -> list[tuple[int, list[str]]]:
    """[(line number, [cell text, ...]), ...] including the header row (line 1). Empty rows are left out."""
    data = fileobj.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError("import_too_large", _("The file is larger than 10 MB."))
    if not data.strip():
        raise ImportFileError("import_empty", _("The file is empty."))
    kind = sniff_kind(data[:SNIFF_BYTES])
    rows = _read_xlsx(data) if kind == "xlsx" else _read_csv(data)
    if not rows:
        raise ImportFileError("import_empty", _("The file is empty."))
    if len(rows) - 1 > MAX_ROWS:
        raise ImportFileError(
            "import_too_many_rows",
            _("The file has %(rows)d rows; at most %(max)d rows can be imported at once.")
            % {"rows": len(rows) - 1, "max": MAX_ROWS},
        )
    return rows


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_xlsx(data: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" not in names:
                raise ImportFileError("import_wrong_type",
                                      _("This is neither an Excel (.xlsx) file nor a CSV file."))
            # A zip bomb would expand far beyond the upload limit.
            if sum(info.file_size for info in archive.infolist()) > 20 * MAX_FILE_BYTES:
                raise ImportFileError("import_too_large", _("The spreadsheet expands to more than 200 MB."))
        # Formulas are read as their text, never evaluated or replaced by a cached result.
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except ImportFileError:
        raise
    except Exception as exc:  # openpyxl raises many kinds for broken files
        raise ImportFileError("import_unreadable", _("The Excel file cannot be read: it may be damaged.")) from exc
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(value) for value in values]
            if any(cells):
                rows.append((line, cells))
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    finally:
        workbook.close()


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "gb18030"):  # GB18030 is a superset of GBK, which Chinese Excel writes
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError("import_bad_encoding", _("The CSV file is neither UTF-8 nor GBK text."))


def _read_csv(data: bytes) -> list[tuple[int, list[str]]]:
    text = _decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = []
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        for values in reader:
            cells = [value.strip() for value in values]
            if any(cells):
                rows.append((reader.line_num, cells))
            if len(rows) > MAX_ROWS + 1:
                break
    except csv.Error as exc:
        raise ImportFileError("import_bad_csv", _("The CSV file is malformed near line %(line)d.")
                              % {"line": reader.line_num}) from exc
    return rows


def header_map(header: list[str]) -> dict[int, str]:
    """Column index -> field; raises ImportFileError naming unknown, repeated and missing columns."""
    mapping: dict[int, str] = {}
    problems = []
    for index, title in enumerate(header):
        key = title.strip().lstrip("\ufeff")
        if not key:
            continue
        name = _HEADER_TO_FIELD.get(key) or _HEADER_TO_FIELD.get(key.lower())
        if name is None:
            problems.append(_("unknown column “%(column)s”") % {"column": key[:50]})
        elif name in mapping.values():
            problems.append(_("column “%(column)s” appears twice") % {"column": key[:50]})
        else:
            mapping[index] = name
    missing = [_LABEL[name] for name, _zh, _en, required in COLUMNS if required and name not in mapping.values()]
    if missing:
        problems.append(_("missing columns: %(columns)s") % {"columns": "、".join(missing)})
    if problems:
        raise ImportFileError(
            "import_bad_header",
            _("The first row must hold the column titles of the template (%(titles)s): %(problems)s.")
            % {"titles": "、".join(TEMPLATE_HEADERS), "problems": "; ".join(problems)},
        )
    return mapping


def validate_rows(rows, *, departments: dict[str, int], progress=None, progress_every: int = 500) -> ValidationResult:
    """Checks every data row. `departments` maps lower-cased department names, English names and codes to ids.
    `progress(processed, total)` is called every `progress_every` rows and at the end."""
    result = ValidationResult()
    if not rows:
        return result
    mapping = header_map(rows[0][1])
    body = rows[1:]
    result.total_rows = len(body)
    seen: dict[tuple[str, str], int] = {}
    for count, (line, cells) in enumerate(body, start=1):
        raw = {name: (cells[index] if index < len(cells) else "") for index, name in mapping.items()}
        clean = _validate_row(line, raw, departments, result)
        if clean is not None:
            key = (Hospital.normalise(clean["name"]), clean["city"])
            if key in seen:
                result.add(line, _LABEL["name"],
                           _("Duplicate: the same hospital and city are on line %(line)d.") % {"line": seen[key]})
            else:
                seen[key] = line
                result.rows.append(clean)
        if progress is not None and (count % progress_every == 0 or count == len(body)):
            progress(count, len(body))
    if progress is not None and not body:
        progress(0, 0)
    return result


def _validate_row(line: int, raw: dict[str, str], departments: dict[str, int], result: ValidationResult):
    errors_before = result.error_count
    clean: dict = {"line": line}

    def error(name: str, reason: str) -> None:
        result.add(line, _LABEL[name], reason)

    formulas = set()
    for name, value in raw.items():
        if value.startswith(_FORMULA_PREFIXES) and not _is_number(value):
            error(name, _("Starts with “%(char)s”: spreadsheet formulas are not imported; type the value itself.")
                  % {"char": value[0].strip() or "⇥"})
            formulas.add(name)
    for name in formulas:
        raw[name] = ""  # reported once: no second error for the same cell below

    for name in ("name", "province", "city"):
        if not raw.get(name) and name not in formulas:
            error(name, _("Required; the cell is empty."))
    for name, limit in MAX_LENGTHS.items():
        value = raw.get(name, "")
        if len(value) > limit:
            error(name, _("Too long: %(length)d characters, at most %(max)d.") % {"length": len(value), "max": limit})
        clean[name] = " ".join(value.split())

    aliases = [" ".join(a.split()) for a in _LIST_SPLIT.split(raw.get("aliases", "")) if a.strip()]
    if len(aliases) > MAX_ALIASES:
        error("aliases", _("Too many aliases: %(count)d, at most %(max)d.")
              % {"count": len(aliases), "max": MAX_ALIASES})
    long_aliases = [a for a in aliases if len(a) > MAX_ALIAS_LENGTH]
    if long_aliases:
        error("aliases", _("An alias is too long: at most %(max)d characters.") % {"max": MAX_ALIAS_LENGTH})
    clean["aliases"] = list(dict.fromkeys(aliases))

    level_text = raw.get("level", "").replace(" ", "")
    grade_text = raw.get("grade", "").replace(" ", "").lower()
    combined = _LEVEL_GRADE.match(level_text)
    if combined:  # "三级甲等" written in the level column
        level_text = combined.group(1) + "级"
        grade_text = grade_text or combined.group(2)
    level = LEVELS.get(level_text)
    if level is None:
        error("level", _("Unknown level “%(value)s”: use 三级, 二级, 一级 or 未定级.") % {"value": level_text[:20]})
    grade = GRADES.get(grade_text)
    if grade is None:
        error("grade", _("Unknown grade “%(value)s”: use 甲等, 乙等, 丙等 or leave empty.")
              % {"value": grade_text[:20]})
    elif grade and level == "0":
        error("grade", _("An unrated hospital has no grade."))
    clean["level"], clean["grade"] = level or "0", grade or ""

    type_text = raw.get("hospital_type", "").replace(" ", "").lower()
    hospital_type = TYPES.get(type_text)
    if hospital_type is None:
        error("hospital_type", _("Unknown type “%(value)s”: use 综合医院, 专科医院, 中医医院 or 社区卫生服务中心.")
              % {"value": type_text[:20]})
    clean["hospital_type"] = hospital_type or "general"

    for name in ("beds", "yearly_outpatient_visits"):
        clean[name] = _whole_number(raw.get(name, ""), lambda reason, n=name: error(n, reason))
    clean["latitude"] = _coordinate(raw.get("latitude", ""), 90, lambda reason: error("latitude", reason))
    clean["longitude"] = _coordinate(raw.get("longitude", ""), 180, lambda reason: error("longitude", reason))

    department_ids = []
    unknown = []
    for part in _LIST_SPLIT.split(raw.get("departments", "")):
        part = part.strip()
        if not part:
            continue
        department_id = departments.get(part.lower())
        if department_id is None:
            unknown.append(part[:30])
        elif department_id not in department_ids:
            department_ids.append(department_id)
    if unknown:
        error("departments", _("Unknown departments: %(names)s. Add them in Departments first or fix the spelling.")
              % {"names": "、".join(unknown[:10])})
    clean["departments"] = department_ids
    return clean if result.error_count == errors_before else None


def _is_number(value: str) -> bool:
    try:
        Decimal(value.replace(",", ""))
    except InvalidOperation:
        return False
    return True


def _whole_number(value: str, error) -> int | None:
    value = value.replace(",", "").replace("，", "").strip()
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        error(_("Not a number: “%(value)s”.") % {"value": value[:20]})
        return None
    if not number.is_finite() or number != number.to_integral_value() or number < 0:
        error(_("Must be a whole number of 0 or more: “%(value)s”.") % {"value": value[:20]})
        return None
    if number > MAX_INT:
        error(_("Too large: “%(value)s”.") % {"value": value[:20]})
        return None
    return int(number)


def _coordinate(value: str, limit: int, error) -> str | None:
    value = value.strip()
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        error(_("Not a number: “%(value)s”.") % {"value": value[:20]})
        return None
    if not number.is_finite() or abs(number) > limit:
        error(_("Must be between -%(limit)d and %(limit)d.") % {"limit": limit})
        return None
    return str(number.quantize(Decimal("0.000001")))


def preview_row(row: dict) -> dict:
    """A row as the admin preview shows it (labels of the template)."""
    return {
        "line": row["line"],
        "name": row["name"],
        "aliases": "、".join(row["aliases"]),
        "province": row["province"],
        "city": row["city"],
        "district": row["district"],
        "level": row["level"],
        "grade": row["grade"],
        "hospital_type": row["hospital_type"],
        "beds": row["beds"],
        "yearly_outpatient_visits": row["yearly_outpatient_visits"],
        "departments": len(row["departments"]),
    }


def template_workbook() -> bytes:
    """The downloadable template: the header row in Chinese, and a second sheet explaining each column."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "医院"
    sheet.append(TEMPLATE_HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, header in enumerate(TEMPLATE_HEADERS, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = max(10, len(header) * 3)
    sheet.freeze_panes = "A2"
    notes = workbook.create_sheet("说明")
    notes.append(["列", "必填", "说明"])
    explanations = {
        "name": "医院全称，最多200字；医院名称 + 城市相同的行会更新已有医院",
        "aliases": "多个别名用 、 或 ; 分隔",
        "province": "如 北京市、广东省",
        "city": "如 北京市、广州市",
        "district": "如 东城区",
        "level": "三级、二级、一级 或 未定级（也可写 三级甲等）",
        "grade": "甲等、乙等、丙等 或 空",
        "hospital_type": "综合医院、专科医院、中医医院、社区卫生服务中心",
        "beds": "整数",
        "yearly_outpatient_visits": "整数",
        "address": "最多300字",
        "latitude": "-90 到 90",
        "longitude": "-180 到 180",
        "departments": "标准科室名称，用 、 或 ; 分隔，如 内分泌科、心血管内科",
    }
    for name, zh, _en, required in COLUMNS:
        notes.append([zh, "是" if required else "", explanations[name]])
    notes.append(["", "", "单元格不能以 = + - @ 开头（公式不会被导入）。"
                          "文件最大10 MB、最多50,000行；CSV 可用 UTF-8 或 GBK 编码。"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
