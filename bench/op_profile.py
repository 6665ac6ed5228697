"""`python -m bench.op_profile`: Where the CPU time goes, per operator family, fp32 and bf16 (`bench.measure.op_profiler`)."""
from bench.core.cli import run
from bench.measure.op_profiler import main, parse_args  # noqa: F401  (parse_args: the page checks the commands it prints)

if __name__ == "__main__":
    raise SystemExit(run(main))
