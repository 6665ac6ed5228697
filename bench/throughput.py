"""`python -m bench.throughput`: Images/s, latency, memory and MFU, interleaved (`bench.measure.throughput_run`)."""
from bench.core.cli import run
from bench.measure.throughput_run import main, parse_args  # noqa: F401  (parse_args: the page checks the commands it prints)

if __name__ == "__main__":
    raise SystemExit(run(main))
