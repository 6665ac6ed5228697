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

# The Python packages of the device image ('cuda'), as /work/.library/device/KINDS.md lists them
# under "Python packages already there": read on a machine running it on 2026-11-17. Names are
# normalised (PEP 503). tests/test_device.py holds the device run's imports to this list and WHEELS.
IMAGE_PACKAGES = frozenset("""
absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch build
certifi charset-normalizer chex click cloudpickle cmake colorama contourpy coverage cuda-bindings
cuda-core cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox etils
execnet filelock flatbuffers flax fonttools formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet
httpcore httpx huggingface-hub humanize hypothesis idna imageio iniconfig interface-meta jax
jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2 joblib kiwisolver lazy-loader lightning
lightning-utilities linear-operator lineax llvmlite lxml markdown markdown-it-py markupsafe matplotlib
mdurl meson ml-dtypes mpi4py mpmath msgpack multidict multipledispatch mypy-extensions nanobind narwhals
networkx ninja numba numba-cuda numpy numpyro nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc
nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft nvidia-cufile nvidia-curand nvidia-cusolver
nvidia-cusparse nvidia-cusparselt-cu13 nvidia-ml-py nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13
nvidia-nvtx onnx onnx-ir onnxruntime onnxscript opencv-python-headless optax opt-einsum opt-einsum-fx
optimistix orbax-checkpoint packaging pandas pathspec patsy peft pillow pip pluggy portalocker
prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments pyparsing
pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout
pytest-xdist python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu safetensors
scikit-build-core scikit-image scikit-learn scipy seaborn sentencepiece sentence-transformers setuptools
shellingham simplejson six sortedcontainers statsmodels sympy tabulate tensorboard
tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz torch
torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers treescope triton typer
typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray xxhash yarl
zipp""".split())
# The image's versions where KINDS.md gives them (its 'pip list' row, 2026-11): the rehearsal
# (bench/device/rehearsal.py) installs these builds, so it runs what the device runs.
IMAGE_PYTHON = "3.12"
IMAGE_PINS = {"torch": "2.11.0", "torchvision": "0.26.0", "numpy": "2.5.2", "safetensors": "0.8.0",
              "huggingface-hub": "1.33.0"}
# What of the image the device run imports, itself or through the carried wheels (timm, fvcore,
# iopath): the rehearsal installs these beside torch, and tests/test_device.py derives this list
# from the imports, so it cannot drift.
IMAGE_USED = ("huggingface-hub", "numpy", "pandas", "pillow", "portalocker", "pyyaml", "requests", "safetensors",
              "tabulate", "torch", "torchvision", "tqdm", "typing-extensions")
# Distributions imported only on paths the device run never takes -> the one module importing each
# there: sret.hub downloads the official checkpoints from Google Drive, and the device has no
# network and bench.gpu loads no checkpoint.
NOT_ON_DEVICE = {"gdown": "sret.hub"}


def shell() -> str:
    """The plan as shell assignments for run.sh to eval."""
    values = {"BUDGET_S": BUDGET_S, "INNER_TIMEOUT_S": INNER_TIMEOUT_S, "RESULTS_DIR": RESULTS_DIR,
              "ARCHIVE": ARCHIVE, "LOG": LOG, "COUNTS": COUNTS}
    return "\n".join(f"PLAN_{key}={value}" for key, value in values.items())


if __name__ == "__main__":
    print(" ".join(WHEELS) if sys.argv[1:] == ["--wheels"] else shell())
