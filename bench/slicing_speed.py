"""`python -m bench.slicing_speed`: Slicing's cost in time (`bench.measure.slicing`)."""
from bench.core.cli import run
from bench.measure.slicing import main, parse_args  # noqa: F401  (parse_args: the page checks the commands it prints)

if __name__ == "__main__":
    raise SystemExit(run(main))
