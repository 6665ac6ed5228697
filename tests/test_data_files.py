"""Reading the data folder's CSV files (``bench.spec.data_files.read_rows``): a file with other columns,
an empty file or a missing one is one line naming it."""
from __future__ import annotations

from _expected_files import one_line_error, write
from bench.spec.data_files import read_rows

COLUMNS = ("model", "img_size", "metric", "published", "source", "note", "status_override")
HEADER = ",".join(COLUMNS) + "\n"
GOOD_ROW = "sret_t,224,gmacs,1.1,Papers with Code: SReT-T,,\n"


def read(path):
    return read_rows(path, COLUMNS, "expected values")


def test_rows_keep_their_line_and_name_it_in_an_error(tmp_path):
    path = write(tmp_path, HEADER + GOOD_ROW + "sret_s, 224 ,gmacs,4.2,src,,\n")
    (first, second) = read(path)
    assert (first[0], first[1]["published"]) == (2, "1.1")
    assert (second[0], second[1]["img_size"]) == (3, "224")  # stripped
    assert str(second[2]("metric", "why")) == f"{path}, line 3, column 'metric': why"


def test_bad_headers_and_files(tmp_path):
    assert "line 1: missing column(s) status_override" in one_line_error(
        write(tmp_path, HEADER.replace(",status_override", "") + "sret_t,224,gmacs,1.1,s,\n"), read)
    assert "unknown column(s) extra" in one_line_error(
        write(tmp_path, HEADER.strip() + ",extra\n" + GOOD_ROW.strip() + ",x\n"), read)
    assert "empty file" in one_line_error(write(tmp_path, ""), read)
    assert "line 3: expected 7 fields" in one_line_error(write(tmp_path, HEADER + GOOD_ROW + "sret_s,224\n"), read)
    assert "does not exist" in one_line_error(tmp_path / "absent.csv", read)
