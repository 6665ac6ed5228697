"""`python -m bench.throughput`: Images/s, latency, memory and MFU, interleaved (`bench.measure.throughput`)."""
from bench.core.cli import run
from bench.measure.throughput import main

if __name__ == "__main__":
    raise SystemExit(run(main))
