"""`python -m bench.report`: The Markdown report from the committed results (`bench.page.pages`)."""
from bench.core.cli import run
from bench.page.pages import main, parse_args  # noqa: F401  (parse_args: the page checks the commands it prints)

if __name__ == "__main__":
    raise SystemExit(run(main))
