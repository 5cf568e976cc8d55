"""core.exporting.write_xlsx, the streaming writer every export uses: what goes in comes out (read
back with openpyxl and with python-calamine, as imports read files), sheets split at the limit with
the headers repeated, and text that needs escaping or cleaning is escaped or cleaned."""

from __future__ import annotations

import zipfile

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from callcenter.core.exporting import write_xlsx

HEADERS = ["时间", "号码", "次数", "比例", "备注", "空", "是否"]


def read(path) -> list[list]:
    wb = openpyxl.load_workbook(path, read_only=True)
    return [[list(row) for row in ws.iter_rows(values_only=True)] for ws in wb.worksheets]


def test_values_round_trip_and_the_header_is_bold(tmp_path):
    path = tmp_path / "a.xlsx"
    rows = [["2025-06-02 09:00:00", "13800000001", 3, 0.25, "正常", "", "是"],
            ["2025-06-02 09:00:30", "13800000002", 0, 1.5, None, "", "否"]]
    assert write_xlsx(str(path), HEADERS, rows) == 2
    # empty text is an empty cell, as xlsxwriter wrote it
    assert read(path) == [[HEADERS, ["2025-06-02 09:00:00", "13800000001", 3, 0.25, "正常", None, "是"],
                           ["2025-06-02 09:00:30", "13800000002", 0, 1.5, None, None, "否"]]]
    assert openpyxl.load_workbook(path).active["A1"].font.b
    book = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert book[1][:4] == ["2025-06-02 09:00:00", "13800000001", 3.0, 0.25]


def test_text_is_escaped_cleaned_and_kept_whole(tmp_path):
    path = tmp_path / "b.xlsx"
    texts = ["a & b <c> d", "  前后空格  ", "换\n行", "控\x01制\x1f符", "=1+1", "x" * 40000, "正常"]
    write_xlsx(str(path), HEADERS, [texts])
    got = read(path)[0][1]
    assert got[:5] == ["a & b <c> d", "  前后空格  ", "换\n行", "控制符", "=1+1"]  # a formula stays text
    assert got[5] == "x" * 32767  # Excel's limit on a cell
    assert got[6] == "正常"


def test_sheets_split_at_the_limit_with_headers_repeated(tmp_path):
    path = tmp_path / "c.xlsx"
    assert write_xlsx(str(path), ["n"], ([i] for i in range(5)), sheet_rows=2) == 5
    assert read(path) == [[["n"], [0], [1]], [["n"], [2], [3]], [["n"], [4]]]
    with zipfile.ZipFile(path) as zf:
        head = zf.read("xl/worksheets/sheet1.xml")[:400].decode()
    assert '<dimension ref="A1:A3"/>' in head


def test_an_empty_export_is_a_sheet_of_headers(tmp_path):
    path = tmp_path / "d.xlsx"
    assert write_xlsx(str(path), HEADERS, []) == 0
    assert read(path) == [[HEADERS]]


@pytest.mark.parametrize("n", [1, 2000, 2001])
def test_row_counts_across_buffer_edges(tmp_path, n):
    path = tmp_path / "e.xlsx"
    write_xlsx(str(path), ["n", "t"], ([i, f"行{i}"] for i in range(n)))
    rows = read(path)[0]
    assert len(rows) == n + 1 and rows[-1] == [n - 1, f"行{n - 1}"]
