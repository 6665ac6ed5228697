"""The measurements (torch): one model factory, the counters, one timing engine, accuracy, the
official function check, and each benchmark. A measurement returns plain data and never prints;
its ``main(argv)`` prints and writes the results document."""
from bench.core.cli import user_error
from sret.checkpoint import CheckpointError

user_error(CheckpointError)  # a bad checkpoint is the user's input: one line, exit 2
