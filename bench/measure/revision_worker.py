"""One side of a revision comparison: a worker process that imports one revision's ``sret/``.

Started by ``bench.measure.revisions`` as a script (never imported), with the revision's checkout
first on ``sys.path``, so ``import sret`` (and any ``bench`` import) is that revision's code. It
imports nothing of this tree: it must run against any revision that has ``sret/``.

Protocol, one JSON object per line on stdout:
  -> ``{"ready": {...}}`` once every configuration is built and warmed up (or ``{"error": "..."}``);
  <- ``CONFIG CALLS`` on stdin: time CALLS forwards of configuration CONFIG (its index);
  -> ``{"seconds": S}``: the wall seconds of those CALLS forwards.
"""
import argparse
import json
import sys
import time
from pathlib import Path


def reply(**message) -> None:
    print(json.dumps(message), flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True, help="the revision's checkout")
    parser.add_argument("--configs", required=True, help='JSON list of {"model", "batch", "kernels"}')
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=3)
    return parser.parse_args()


def import_revision(root: Path):
    """The revision's ``sret`` package, refusing one that resolves anywhere else."""
    sys.path[0] = str(root)  # replaces this script's folder, which holds the running tree's bench/
    import sret  # noqa: PLC0415

    where = Path(sret.__file__).resolve()
    if root.resolve() not in where.parents:
        raise RuntimeError(f"import sret found {where}, not the revision's checkout {root}")
    return sret


def build(config: dict, torch, timm):
    """The model of one configuration under its kernel policy, and a fixed input for it."""
    model = timm.create_model(config["model"]).eval()
    if config["kernels"] != "stock":
        from sret.kernels import apply_kernel_policy  # noqa: PLC0415 - the revision's own policies

        model = apply_kernel_policy(model, config["kernels"])
    size = int(model.pretrained_cfg["input_size"][-1])
    batch = torch.randn(config["batch"], 3, size, size, generator=torch.Generator().manual_seed(0))
    return lambda: model(batch)


def kernel_decision() -> object:
    """The crossover the revision's tuned policy reads, where it has one (both sides must agree)."""
    try:
        from sret import kernel_choice  # noqa: PLC0415

        return kernel_choice.current().record()
    except Exception as error:  # noqa: BLE001 - an older revision may lack it; say so, do not fail
        return f"unavailable: {type(error).__name__}"


def main() -> int:
    args = parse_args()
    try:
        import torch  # noqa: PLC0415
        import timm  # noqa: PLC0415

        sret = import_revision(Path(args.root))
        torch.set_num_threads(args.threads)
        torch.manual_seed(0)
        configs = json.loads(args.configs)
        forwards = []
        with torch.inference_mode():
            for config in configs:
                forward = build(config, torch, timm)
                for _ in range(args.warmup):
                    forward()
                forwards.append(forward)
        reply(ready={"sret": str(Path(sret.__file__).resolve().parent), "torch": torch.__version__,
                     "timm": timm.__version__, "threads": torch.get_num_threads(),
                     "kernel_decision": kernel_decision()})
    except Exception as error:  # noqa: BLE001 - the parent names it in one line
        reply(error=f"{type(error).__name__}: {error}".splitlines()[0])
        return 1
    with torch.inference_mode():
        for line in sys.stdin:
            index, calls = (int(word) for word in line.split())
            forward = forwards[index]
            start = time.perf_counter()
            for _ in range(calls):
                forward()
            reply(seconds=time.perf_counter() - start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
