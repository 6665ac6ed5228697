"""The runs the committed pages are rendered from: what `nox -s report` measures into reports/.

By the names of their series (two runs of one configuration are `-run1`, `-run2`), so a re-measure
replaces each committed file instead of adding a run the series did not have. Each entry is a
`python -m` module and its arguments; the page prints each file's recorded argv under its table.
"""
from __future__ import annotations

VERIFY = ("bench.verify", "--device", "cpu", "--json", "reports/verify.json")
# The other papers' gate runs: each writes reports/verify-<paper>.json, the page reports/<paper>.md.
PAPER_RUNS = (("bench.verify", "--paper", "pit", "--device", "cpu", "--json", "reports/verify.json"),)

REPORT_RUNS = (
    ("bench.throughput", "--device", "cpu", "--threads", "2", "--json", "reports/throughput-cpu-run1.json"),
    ("bench.throughput", "--device", "cpu", "--threads", "2", "--json", "reports/throughput-cpu-run2.json"),
    ("bench.throughput", "--models", "sret", "--device", "cpu", "--threads", "2", "--rounds", "3",
     "--json", "reports/throughput-zoo-cpu.json", "--csv", "reports/throughput-zoo-cpu.csv"),
    ("bench.model_speed", "--json", "reports/model_speed-cpu-run1.json"),
    ("bench.model_speed", "--json", "reports/model_speed-cpu-run2.json"),
    ("bench.slicing_speed", "--threads", "2", "--json", "reports/slicing_speed-cpu.json"),
    ("bench.op_profile", "--json", "reports/op_profile-cpu.json"),
    ("bench.op_profile", "--models", "sret_t,sret_s,deit_small_patch16_224", "--precisions", "fp32", "--forms",
     "release_formulation,eager,compiled", "--json", "reports/op_profile-compiled-cpu.json"),
    ("bench.throughput", "--models", "sret_t,sret_s,deit_tiny_patch16_224,pit_ti_224", "--runtime",
     "torch,onnxruntime,openvino", "--kernels", "stock", "--batch-sizes", "8", "--threads", "2",
     "--json", "reports/throughput-runtimes-cpu.json"),
    ("bench.throughput", "--models", "sret_t,sret_s,deit_tiny_patch16_224,pit_ti_224", "--runtime",
     "torch,onnxruntime,openvino", "--kernels", "stock", "--batch-sizes", "8", "--threads", "2", "--amp", "bf16",
     "--json", "reports/throughput-runtimes-bf16-cpu.json"),
)


def main(argv: list[str] | None = None) -> int:
    """Run the gate, then every report run, each in its own process, then re-render both pages.

    Stops at the first run that fails (the gate may exit 1: a failing figure belongs on the page).
    """
    import subprocess
    import sys

    del argv  # no options: the runs are the committed series
    for allowed, run in [((0, 1), VERIFY), *(((0, 1), run) for run in PAPER_RUNS), *(((0,), run) for run in REPORT_RUNS),
                         ((0,), ("bench.report", "--write", "reports"))]:
        print("+ python -m " + " ".join(run), flush=True)
        code = subprocess.run([sys.executable, "-m", *run]).returncode
        if code not in allowed:
            print(f"report runs: python -m {run[0]} exited {code}; reports/ left as the runs before it wrote it",
                  file=sys.stderr)
            return code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
