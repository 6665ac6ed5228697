"""`python -m bench.gpu`: The one GPU command (`bench.measure.gpu`)."""
from bench.core.cli import run
from bench.measure.gpu import main

if __name__ == "__main__":
    raise SystemExit(run(main))
