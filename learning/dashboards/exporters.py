"""The learning dashboard as an Excel workbook: one sheet per table, Chinese headings."""

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from learning.dashboards.selectors import Dashboard


def _sheet(book, title: str, headings: list[str], rows: list[list]) -> None:
    sheet = book.create_sheet(title=title[:31])
    sheet.append(headings)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)


def dashboard_xlsx(board: Dashboard) -> bytes:
    book = Workbook()
    book.remove(book.active)
    _sheet(book, _("Completion"), [_("Team"), _("Course or curriculum"), _("Assigned"), _("Completed"),
                                   _("Overdue"), _("Completion (%)")],
           [[g["team"], g["target"], g["assigned"], g["completed"], g["overdue"], g["percent"]]
            for g in board.completion])
    _sheet(book, _("Scores"), [_("Exam"), *board.buckets, _("Attempts")],
           [[s["exam"], *s["buckets"], s["attempts"]] for s in board.scores])
    _sheet(book, _("Weakest categories"), [_("Category"), _("Answers"), _("Correct (%)")],
           [[c["category"], c["answered"], c["percent"]] for c in board.weakest])
    _sheet(book, _("Not qualified"), [_("Product"), _("Required curriculum"), _("Reps not qualified")],
           [[q["product"], q["curriculum"], "、".join(q["reps"])] for q in board.not_qualified])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
