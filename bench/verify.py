"""`python -m bench.verify`: The paper-claims gate (`bench.gate.paper_gate`)."""
from bench.core.cli import run
from bench.gate.paper_gate import main, parse_args  # noqa: F401  (parse_args: the page checks the commands it prints)

if __name__ == "__main__":
    raise SystemExit(run(main))
