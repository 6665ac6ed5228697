"""`python -m bench.model_speed`: Our SReT against the release's formulation (`bench.measure.formulation_speed`)."""
from bench.core.cli import run
from bench.measure.formulation_speed import main, parse_args  # noqa: F401  (parse_args: the page checks the commands it prints)

if __name__ == "__main__":
    raise SystemExit(run(main))
