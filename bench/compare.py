"""`python -m bench.compare BASE.json NEW.json`: the speed regression gate (`bench.gate.compare`)."""
from bench.core.cli import run
from bench.gate.compare import main, parse_args  # noqa: F401  (parse_args: for callers that check a command)

if __name__ == "__main__":
    raise SystemExit(run(main))
