"""`python -m bench.gpu`: The one GPU command (`bench.measure.gpu_run`)."""
from bench.core.cli import run
from bench.measure.gpu_run import main, parse_args  # noqa: F401  (parse_args: the page checks the commands it prints)

if __name__ == "__main__":
    raise SystemExit(run(main))
