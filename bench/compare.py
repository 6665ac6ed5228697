"""`python -m bench.compare BASE.json NEW.json`: the speed regression gate (`bench.gate.speed_gate`)."""
from bench.core.cli import run
from bench.gate.speed_gate import main, parse_args  # noqa: F401  (parse_args: for callers that check a command)

if __name__ == "__main__":
    raise SystemExit(run(main))
