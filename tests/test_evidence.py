"""bench.page.evidence: figures counted apart from the measurements behind them, checked against a hand count
of expected/paper_values.csv."""
from __future__ import annotations

from bench.page import evidence
from bench.spec.paper_values import load_expected


def _rows(status: str = "pass") -> list[dict]:
    """paper_values.csv as verify rows: every figure with one status; sret_ext (never released) reconstructed."""
    return [{"model": f.model, "img_size": f.img_size, "metric": f.metric, "status": status,
             "reconstructed": f.architecture == "sret_ext"} for f in load_expected()]


def test_paper_values_rest_on_34_measurements_by_hand_count():
    """By hand, from expected/paper_values.csv: 46 rows, 1 of them sret_ext (reconstructed): 45 figures.
    14 are top-1, one per README tag and each its own measurement. The other 31 are GMACs and params:
    28 of the README's 14 rows and 3 of Papers with Code. Four architectures have both an .in1k and a
    .distill_in1k row (sret_t_wo_slice, sret_t, sret_lt_wo_slice, sret_lt): 8 repeated counts. The Papers
    with Code rows SReT-T, SReT-S 384 and SReT-S 512 name architectures the README rows already count:
    3 more. 31 - 8 - 3 = 20 counts, + 14 top-1 = 34 measurements."""
    found = evidence.evidence(_rows())
    assert found.figures_total == 45 and found.measurements_total == 34
    assert found.figures["pass"] == 45 and found.measurements["pass"] == 34
    assert [(row["model"], row["metric"]) for row in found.reconstructed] == [("sret_ext", "gmacs")]


def test_shape_figures_share_a_measurement_and_top1_does_not():
    key = evidence.measurement_key
    row = {"img_size": 224}
    assert key({**row, "model": "sret_t.in1k", "metric": "gmacs"}) == key({**row, "model": "sret_t.distill_in1k",
                                                                              "metric": "gmacs"})
    assert key({**row, "model": "sret_t", "metric": "params_m"}) == key({**row, "model": "sret_t.in1k",
                                                                          "metric": "params_m"})
    assert key({**row, "model": "sret_t.in1k", "metric": "top1"}) != key({**row, "model": "sret_t.distill_in1k",
                                                                           "metric": "top1"})
    assert key({**row, "model": "sret_t.in1k", "metric": "gmacs"}) != key({"img_size": 384, "model": "sret_t.in1k",
                                                                             "metric": "gmacs"})


def test_a_shared_measurement_counts_under_each_status_of_its_figures():
    rows = [{"model": "sret_t", "img_size": 224, "metric": "gmacs", "status": "fail"},
            {"model": "sret_t.in1k", "img_size": 224, "metric": "gmacs", "status": "pass"},
            {"model": "sret_t.distill_in1k", "img_size": 224, "metric": "gmacs", "status": "pass"}]
    found = evidence.evidence(rows)
    assert (found.figures["pass"], found.figures["fail"]) == (2, 1)
    assert (found.measurements["pass"], found.measurements["fail"], found.measurements_total) == (1, 1, 1)
