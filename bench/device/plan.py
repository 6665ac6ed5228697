"""The device run's plan in one place: its time arithmetic, the wheels it carries and what it sends back.

``run.sh`` reads these numbers (``python3 -m bench.device.plan --shell``) and ``tests/test_device.py``
holds them to the device machine's limits, so the script and its checks cannot drift apart.

A session has 15 minutes of device time for all its tries, each cold start counted. The plan
leaves room for one failed try (a cold start, then a stop at the preflight or an early crash)
and one full try after it.
"""
from __future__ import annotations

import sys

DEVICE_TIME_S = 900  # a session's device time, every try together
COMMAND_LIMIT_S = 600  # one command's limit on the device tool
MAX_FILES_BACK = 8  # files that come back from $OUT
START_UP_S = 210  # a cold start of the machine (3 to 4 minutes seen), counted per try
SETUP_S = 30  # installing the carried wheels, the preflight, importing torch and timm
PACK_S = 15  # packing the archive and copying it back
BUDGET_S = 330  # bench.gpu --budget-s: no unit starts that would not fit
GRACE_S = 60  # the unit running when the budget ends may overrun its estimate by this much
INNER_TIMEOUT_S = BUDGET_S + GRACE_S  # `timeout` around bench.gpu, so the archive is packed even then
TOOL_TIMEOUT_S = SETUP_S + INNER_TIMEOUT_S + PACK_S  # the timeout_s to give the device tool
FAILED_TRY_S = START_UP_S + SETUP_S  # a try that stops at the preflight
FULL_TRY_S = START_UP_S + TOOL_TIMEOUT_S

RESULTS_DIR = "/tmp/sret-gpu"  # bench.gpu --out: outside the checkout
ARCHIVE = "sret-gpu.tar.gz"  # the results, packed: one file in $OUT
LOG = "run.log"  # the whole output: the second and last file in $OUT
FILES_BACK = (ARCHIVE, LOG)
COUNTS = "reports/verify.json"  # the CPU's committed counts, so the gate is not recounted there

# Pure-Python packages the device image lacks (fvcore, thop and theirs) or holds in another
# version (timm), carried as wheels in .whl/ (bench/device/wheels.sh); the versions the test
# suite runs with (noxfile.py). portalocker, tabulate, PyYAML, tqdm and Pillow are on the image.
WHEELS = ("fvcore==0.1.5.post20221221", "iopath==0.1.10", "yacs==0.1.8", "termcolor==3.3.0",
          "thop==0.1.1.post2209072238", "timm==1.0.31")


def shell() -> str:
    """The plan as shell assignments for run.sh to eval."""
    values = {"BUDGET_S": BUDGET_S, "INNER_TIMEOUT_S": INNER_TIMEOUT_S, "RESULTS_DIR": RESULTS_DIR,
              "ARCHIVE": ARCHIVE, "LOG": LOG, "COUNTS": COUNTS}
    return "\n".join(f"PLAN_{key}={value}" for key, value in values.items())


if __name__ == "__main__":
    print(" ".join(WHEELS) if sys.argv[1:] == ["--wheels"] else shell())
