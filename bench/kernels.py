"""`python -m bench.kernels`: The kernel choices, per layer shape (`bench.measure.kernel_scan`)."""
from bench.core.cli import run
from bench.measure.kernel_scan import main

if __name__ == "__main__":
    raise SystemExit(run(main))
