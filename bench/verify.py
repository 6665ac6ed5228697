"""`python -m bench.verify`: The paper-claims gate (`bench.gate.verify`)."""
from bench.core.cli import run
from bench.gate.verify import main

if __name__ == "__main__":
    raise SystemExit(run(main))
