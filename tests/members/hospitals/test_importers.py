"""Hospital imports: file types by content, encodings, row-by-row errors, progress, all-or-nothing, admin flow."""

import csv
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import translation
from openpyxl import Workbook, load_workbook

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError
from members.hospitals import importers, services, tasks
from members.hospitals.models import Hospital, HospitalImport
from tests.factories import DepartmentFactory, HospitalFactory, user_with_role
from tests.race import codes, race

pytestmark = pytest.mark.django_db
HEADER = importers.TEMPLATE_HEADERS
ADMIN = "/admin/hospital_imports/"


def row(name="北京协和医院", aliases="协和医院、PUMCH", province="北京市", city="北京市", district="东城区",
        level="三级", grade="甲等", kind="综合医院", beds="2000", visits="4300000", address="帅府园1号",
        lat="39.912", lng="116.417", departments="内分泌科"):
    return [name, aliases, province, city, district, level, grade, kind, beds, visits, address, lat, lng, departments]


def xlsx_bytes(rows, header=HEADER):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for values in rows:
        sheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows, encoding="utf-8", header=HEADER):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


@pytest.fixture(autouse=True)
def _english():
    """Error reasons are asserted in the source language, whatever catalogue is installed."""
    with translation.override("en"):
        yield


@pytest.fixture
def marketing(role_user):
    DepartmentFactory()  # 内分泌科
    DepartmentFactory(code="cardiology", name="心血管内科", name_en="Cardiology")
    return role_user("marketing")


def upload(actor, content: bytes, name="hospitals.xlsx"):
    return services.hospital_import_create(actor=actor, uploaded=SimpleUploadedFile(name, content))


def validated(actor, content, name="hospitals.xlsx") -> HospitalImport:
    hospital_import = upload(actor, content, name)
    tasks.hospital_import_validate(hospital_import.pk)  # the Celery task, run in this process
    hospital_import.refresh_from_db()
    return hospital_import


def imported(actor, hospital_import) -> HospitalImport:
    services.hospital_import_start(actor=actor, import_id=hospital_import.pk)
    tasks.hospital_import_run(hospital_import.pk)
    hospital_import.refresh_from_db()
    return hospital_import


def test_valid_xlsx_previews_then_imports_in_one_go(marketing):
    rows = [row(), row(name="北京大学第一医院", aliases="", beds="1,800", departments="内分泌科;Cardiology"),
            row(name="中山医院", city="中山市", province="广东省", level="三级甲等", grade="", kind="", beds="",
                visits="", lat="", lng="", departments="")]
    hospital_import = validated(marketing, xlsx_bytes(rows))
    assert hospital_import.status == HospitalImport.Status.VALID
    assert (hospital_import.total_rows, hospital_import.processed_rows) == (3, 3)
    assert hospital_import.errors == []
    assert [p["name"] for p in hospital_import.preview] == ["北京协和医院", "北京大学第一医院", "中山医院"]
    assert hospital_import.preview[0]["line"] == 2
    assert Hospital.objects.count() == 0  # validation writes nothing

    hospital_import = imported(marketing, hospital_import)
    assert hospital_import.status == HospitalImport.Status.DONE
    assert (hospital_import.created_count, hospital_import.updated_count) == (3, 0)
    pumch = Hospital.objects.get(name="北京协和医院")
    assert (pumch.level_grade, pumch.beds, pumch.aliases, pumch.pinyin_initials) == (
        "三级甲等", 2000, ["协和医院", "PUMCH"], "BJXHYY")
    assert str(pumch.latitude) == "39.912000"
    assert sorted(Hospital.objects.get(name="北京大学第一医院").departments.values_list("name", flat=True)) == [
        "内分泌科", "心血管内科"]
    zs = Hospital.objects.get(name="中山医院")
    assert zs.level_grade == "三级甲等" and zs.beds is None
    assert AuditEntry.objects.filter(action="hospital_import.done", after__created=3).exists()
    assert AuditEntry.objects.filter(action__in=["hospital_import.upload", "hospital_import.start"]).count() == 2


def test_existing_hospitals_are_updated_by_name_and_city(marketing):
    existing = HospitalFactory(name="北京协和医院", city="北京市", province="北京市", beds=10, aliases=["老协和"],
                               status=Hospital.Status.PROPOSED)
    hospital_import = imported(marketing, validated(marketing, xlsx_bytes([row(name="北京 协和医院", beds="",
                                                                                 visits="5000000")])))
    assert (hospital_import.created_count, hospital_import.updated_count) == (0, 1)
    existing.refresh_from_db()
    assert existing.beds == 10  # empty cells keep the current value
    assert existing.yearly_outpatient_visits == 5_000_000
    assert existing.aliases == ["老协和", "协和医院", "PUMCH"]
    assert existing.status == Hospital.Status.ACTIVE
    assert Hospital.objects.count() == 1


@pytest.mark.parametrize("encoding,bom", [("utf-8", False), ("utf-8", True), ("gbk", False), ("gb18030", False)])
def test_csv_in_utf8_with_or_without_bom_and_gbk(marketing, encoding, bom):
    content = csv_bytes([row(), row(name="四川大学华西医院", province="四川省", city="成都市")], encoding)
    if bom:
        content = b"\xef\xbb\xbf" + content
    hospital_import = imported(marketing, validated(marketing, content, name="hospitals.csv"))
    assert hospital_import.status == HospitalImport.Status.DONE, hospital_import.errors
    assert set(Hospital.objects.values_list("name", flat=True)) == {"北京协和医院", "四川大学华西医院"}


def test_english_headers_and_semicolon_csv_are_understood(marketing):
    header = [en for _f, _zh, en, _r in importers.COLUMNS]
    text = ";".join(header) + "\n" + ";".join(row(aliases="协和医院")) + "\n"
    hospital_import = validated(marketing, text.encode(), name="x.csv")
    assert hospital_import.status == HospitalImport.Status.VALID, hospital_import.errors


BAD_ROWS = [
    (row(name=""), "医院名称", "Required"),
    (row(province=""), "省份", "Required"),
    (row(city=""), "城市", "Required"),
    (row(level="四级"), "等级", "Unknown level"),
    (row(grade="丁等"), "等次", "Unknown grade"),
    (row(level="未定级", grade="甲等"), "等次", "unrated"),
    (row(kind="兽医院"), "类型", "Unknown type"),
    (row(beds="很多"), "床位数", "Not a number"),
    (row(beds="12.5"), "床位数", "whole number"),
    (row(beds="-3"), "床位数", "0 or more"),
    (row(visits="99999999999"), "年门诊量", "Too large"),
    (row(lat="91"), "纬度", "between"),
    (row(lng="abc"), "经度", "Not a number"),
    (row(departments="内分泌科、火星科"), "科室", "火星科"),
    (row(name="医" * 201), "医院名称", "Too long"),
    (row(address="路" * 301), "地址", "Too long"),
    (row(aliases="别" * 201), "别名", "too long"),
    (row(name="=HYPERLINK(\"http://evil\",\"点我\")"), "医院名称", "formula"),
    (row(address="@SUM(1+1)"), "地址", "formula"),
    (row(district="+cmd"), "区县", "formula"),
]


@pytest.mark.parametrize("bad,column,reason", BAD_ROWS)
def test_each_bad_row_is_reported_with_line_column_and_reason(marketing, bad, column, reason):
    hospital_import = validated(marketing, xlsx_bytes([row(name="好医院", city="上海市"), bad]))
    assert hospital_import.status == HospitalImport.Status.INVALID
    assert hospital_import.total_rows == 2
    errors = [e for e in hospital_import.errors if e["line"] == 3 and e["column"] == column]
    assert errors, hospital_import.errors
    assert reason.lower() in errors[0]["reason"].lower(), errors
    assert not [e for e in hospital_import.errors if e["line"] == 2]
    with pytest.raises(DomainError) as caught:
        services.hospital_import_start(actor=marketing, import_id=hospital_import.pk)
    assert caught.value.code == "import_has_errors"
    tasks.hospital_import_run(hospital_import.pk)  # even a stray run imports nothing
    assert Hospital.objects.count() == 0


def test_duplicates_inside_the_file_are_errors(marketing):
    hospital_import = validated(marketing, xlsx_bytes([row(), row(name="中山医院", city="中山市"),
                                                       row(name=" 北京协和医院 ")]))
    assert hospital_import.status == HospitalImport.Status.INVALID
    assert hospital_import.errors == [{"line": 4, "column": "医院名称",
                                       "reason": hospital_import.errors[0]["reason"]}]
    assert "2" in hospital_import.errors[0]["reason"]


def test_a_file_with_one_bad_row_among_many_imports_nothing(marketing):
    rows = [row(name=f"测试医院{n}", city="杭州市") for n in range(200)]
    rows[150] = row(name="坏医院", beds="lots")
    hospital_import = validated(marketing, xlsx_bytes(rows))
    assert hospital_import.status == HospitalImport.Status.INVALID
    assert [(e["line"], e["column"]) for e in hospital_import.errors] == [(152, "床位数")]
    assert Hospital.objects.count() == 0


@pytest.mark.parametrize("header,needle", [
    ([h for h in HEADER if h != "城市"], "城市"),
    ([*HEADER, "备注"], "备注"),
    ([*HEADER[:3], "医院名称", *HEADER[3:]], "twice"),
])
def test_bad_header_rows_are_reported_as_a_whole(marketing, header, needle):
    hospital_import = validated(marketing, xlsx_bytes([row()[:len(header)]], header=header))
    assert hospital_import.status == HospitalImport.Status.INVALID
    assert needle in hospital_import.errors[0]["reason"]


def test_header_only_is_invalid(marketing):
    hospital_import = validated(marketing, xlsx_bytes([]))
    assert hospital_import.status == HospitalImport.Status.INVALID


def test_five_thousand_rows_report_progress_and_import(marketing):
    rows = [row(name=f"第{n}医院", city=f"城市{n % 50}", province="省", aliases="", departments="")
            for n in range(5000)]
    hospital_import = upload(marketing, xlsx_bytes(rows))
    written = []

    def watch(execute, sql, params, many, context):
        if sql.startswith('UPDATE "members_hospitalimport"') and "processed_rows" in sql:
            written.append(params)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        tasks.hospital_import_validate(hospital_import.pk)
    hospital_import.refresh_from_db()
    assert hospital_import.status == HospitalImport.Status.VALID
    # progress is saved every 500 rows as it goes: 0 at the start, then 500, 1000 … 5000 of 5000
    processed = [p[0] for p in written if len(p) == 3 and p[1] == 5000]
    assert processed == list(range(500, 5001, 500))
    assert services.hospital_import_progress(hospital_import)["percent"] == 100

    hospital_import = imported(marketing, hospital_import)
    assert hospital_import.status == HospitalImport.Status.DONE
    assert hospital_import.created_count == 5000
    assert Hospital.objects.count() == 5000
    assert not Hospital.objects.filter(pinyin_initials="").exists()


def test_progress_callback_of_the_validator():
    rows = [(1, HEADER)] + [(n + 2, row(name=f"医院{n}", departments="")) for n in range(1200)]
    seen = []
    importers.validate_rows(rows, departments={}, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(500, 1200), (1000, 1200), (1200, 1200)]


@pytest.mark.parametrize("content,name,code", [
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "hospitals.csv", "import_wrong_type"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "hospitals.xls", "import_old_excel"),
    (b"", "empty.csv", "import_empty"),
])
def test_wrong_file_types_are_refused_by_content(marketing, content, name, code):
    with pytest.raises(DomainError) as caught:
        upload(marketing, content, name)
    assert caught.value.code == code
    assert HospitalImport.objects.count() == 0


def test_a_zip_that_is_not_a_workbook_and_a_broken_xlsx_are_invalid(marketing):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert validated(marketing, buffer.getvalue(), "x.xlsx").status == HospitalImport.Status.INVALID
    broken = xlsx_bytes([row()])[:500]
    hospital_import = validated(marketing, broken, "x.xlsx")
    assert hospital_import.status == HospitalImport.Status.INVALID
    assert hospital_import.errors[0]["line"] is None


def test_a_pdf_named_csv_is_not_text(marketing):
    content = b"%PDF-1.4\n" + bytes(range(256)) * 10
    with pytest.raises(DomainError) as caught:
        upload(marketing, content, "hospitals.csv")
    assert caught.value.code == "import_wrong_type"


def test_undecodable_text_is_invalid(marketing):
    hospital_import = validated(marketing, ",".join(HEADER).encode() + b"\n\xff\xff\xfe,a,b\n", "a.csv")
    assert hospital_import.status == HospitalImport.Status.INVALID
    assert "UTF-8" in hospital_import.errors[0]["reason"]
    with pytest.raises(DomainError) as caught:
        upload(marketing, "医院名称,省份,城市\n".encode("utf-16-le"), "utf16.csv")
    assert caught.value.code == "import_wrong_type"


def test_oversized_files_are_refused(marketing):
    big = b"a" * (importers.MAX_FILE_BYTES + 1)
    with pytest.raises(DomainError) as caught:
        upload(marketing, big, "big.csv")
    assert caught.value.code == "import_too_large"


def test_too_many_rows_are_refused(marketing):
    lines = [",".join(HEADER)] + [f"医院{n},,省,市,,,,,,,,,," for n in range(importers.MAX_ROWS + 1)]
    hospital_import = validated(marketing, "\n".join(lines).encode(), "many.csv")
    assert hospital_import.status == HospitalImport.Status.INVALID
    assert "50000" in hospital_import.errors[0]["reason"].replace(",", "")


def test_only_marketing_and_admin_upload_and_start(role_user, marketing):
    for role in ("doctor", "rep", "compliance", "medical_reviewer"):
        with pytest.raises(DomainError) as caught:
            upload(role_user(role), xlsx_bytes([row()]))
        assert caught.value.code == "forbidden"
    hospital_import = validated(marketing, xlsx_bytes([row()]))
    with pytest.raises(DomainError):
        services.hospital_import_start(actor=role_user("compliance"), import_id=hospital_import.pk)


def test_import_starts_once(marketing):
    hospital_import = validated(marketing, xlsx_bytes([row()]))
    services.hospital_import_start(actor=marketing, import_id=hospital_import.pk)
    with pytest.raises(DomainError) as caught:
        services.hospital_import_start(actor=marketing, import_id=hospital_import.pk)
    assert caught.value.code == "import_not_ready"
    tasks.hospital_import_run(hospital_import.pk)
    tasks.hospital_import_run(hospital_import.pk)  # a redelivered task does nothing more
    assert Hospital.objects.count() == 1
    assert AuditEntry.objects.filter(action="hospital_import.done").count() == 1


def test_a_file_that_became_invalid_before_the_run_imports_nothing(marketing):
    from members.hospitals.models import Department

    hospital_import = validated(marketing, xlsx_bytes([row(name=f"医院{n}") for n in range(5)]
                                                      + [row(name="心脏医院", departments="心血管内科")]))
    services.hospital_import_start(actor=marketing, import_id=hospital_import.pk)
    Department.objects.filter(name="心血管内科").delete()
    tasks.hospital_import_run(hospital_import.pk)
    hospital_import.refresh_from_db()
    assert hospital_import.status == HospitalImport.Status.FAILED
    assert Hospital.objects.count() == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_import_clicks_start_one_import():
    DepartmentFactory()
    actor = user_with_role("marketing")
    hospital_import = validated(actor, xlsx_bytes([row()]))

    def click(i):
        services.hospital_import_start(actor=actor, import_id=hospital_import.pk)
        return "ok"

    outcomes = codes(race(6, click))
    assert sorted(outcomes) == ["import_not_ready"] * 5 + ["ok"]


def test_template_has_the_chinese_header_row(client, marketing):
    client.force_login(marketing)
    response = client.get(f"{ADMIN}template.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    assert [c.value for c in workbook.worksheets[0][1]] == [
        "医院名称", "别名", "省份", "城市", "区县", "等级", "等次", "类型", "床位数", "年门诊量", "地址", "纬度",
        "经度", "科室"]
    # the template itself is a valid (empty) import file's header
    assert importers.header_map(HEADER)


@pytest.mark.parametrize("role,allowed", [
    ("marketing", True), ("admin", True), ("compliance", False), ("medical_reviewer", False),
    ("doctor", False), ("rep", False), (None, False),
])
def test_admin_pages_role_matrix(client, role_user, marketing, role, allowed):
    hospital_import = validated(marketing, xlsx_bytes([row()]))
    if role:
        client.force_login(role_user(role))
    for url in (ADMIN, f"{ADMIN}upload/", f"{ADMIN}template.xlsx", f"{ADMIN}{hospital_import.pk}/",
                f"{ADMIN}{hospital_import.pk}/status/"):
        status = client.get(url).status_code
        assert status == 200 if allowed else status in (302, 403), (url, status)
    client.post(f"{ADMIN}{hospital_import.pk}/")
    hospital_import.refresh_from_db()
    assert (hospital_import.status == HospitalImport.Status.IMPORTING) == allowed


def test_admin_upload_check_and_import_flow(client, marketing, django_capture_on_commit_callbacks):
    client.force_login(marketing)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(f"{ADMIN}upload/", {"file": SimpleUploadedFile("医院.xlsx", xlsx_bytes([row()]))})
    assert response.status_code == 302
    assert len(callbacks) == 1  # validation is queued after commit
    hospital_import = HospitalImport.objects.get()
    assert hospital_import.original_name == "医院.xlsx"
    status = client.get(f"{ADMIN}{hospital_import.pk}/status/").json()
    assert (status["status"], status["finished"]) == ("uploaded", False)
    page = client.get(f"{ADMIN}{hospital_import.pk}/").content.decode()
    assert "data-progress-bar" in page and "fetch(" in page

    tasks.hospital_import_validate(hospital_import.pk)
    status = client.get(f"{ADMIN}{hospital_import.pk}/status/").json()
    assert (status["status"], status["processed_rows"], status["total_rows"], status["percent"]) == ("valid", 1, 1, 100)
    page = client.get(f"{ADMIN}{hospital_import.pk}/").content.decode()
    assert 'data-testid="import-button"' in page and "北京协和医院" in page

    with django_capture_on_commit_callbacks() as callbacks:
        assert client.post(f"{ADMIN}{hospital_import.pk}/").status_code == 302
    assert len(callbacks) == 1
    tasks.hospital_import_run(hospital_import.pk)
    page = client.get(f"{ADMIN}{hospital_import.pk}/").content.decode()
    assert 'data-testid="import-counts"' in page
    assert Hospital.objects.filter(name="北京协和医院").exists()


def test_admin_shows_the_error_report_and_no_import_button(client, marketing):
    client.force_login(marketing)
    hospital_import = validated(marketing, xlsx_bytes([row(beds="<script>alert(1)</script>")]))
    page = client.get(f"{ADMIN}{hospital_import.pk}/").content.decode()
    assert 'data-testid="import-errors"' in page
    assert 'data-testid="import-button"' not in page
    assert "<script>alert(1)</script>" not in page
    client.post(f"{ADMIN}{hospital_import.pk}/")
    hospital_import.refresh_from_db()
    assert hospital_import.status == HospitalImport.Status.INVALID


@pytest.mark.parametrize("files", [{}, {"file": SimpleUploadedFile("a.png", b"\x89PNG\x00\x00")},
                                   {"file": SimpleUploadedFile("a.csv", b"")}])
def test_admin_upload_form_refuses_bad_input(client, marketing, files):
    client.force_login(marketing)
    response = client.post(f"{ADMIN}upload/", files)
    assert response.status_code == 200
    assert HospitalImport.objects.count() == 0


def test_admin_unknown_import_is_404(client, marketing):
    client.force_login(marketing)
    assert client.get(f"{ADMIN}999999/").status_code == 404
    assert client.get(f"{ADMIN}999999/status/").status_code == 404
