"""`python -m bench.accuracy`: ImageNet top-1 of a checkpoint (`bench.measure.imagenet_top1`)."""
from bench.core.cli import run
from bench.measure.imagenet_top1 import main, parse_args  # noqa: F401  (parse_args: the page checks the commands it prints)

if __name__ == "__main__":
    raise SystemExit(run(main))
