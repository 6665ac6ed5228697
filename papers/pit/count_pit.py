"""Count the FLOPs (multiply-adds) and parameters of PiT's and DeiT's timm models, by every
counter at hand, and test which counter/convention reproduces the figures printed in
PiT's official README (github.com/naver-ai/pit, tables unchanged from c741bc3 to 9d97a62).

Run (one process, one thread, CPU):
    python papers/pit/count_pit.py > papers/pit/counts.txt
Writes counts.json next to itself. Takes about two minutes on one core.

Counters
  fvcore   FlopCountAnalysis(model, x).total(): 1 per multiply-add; also counts layer_norm
           (5 per element, affine). Attention is run explicitly (every timm Attention's
           fused_attn set to False): with timm's fused SDPA default fvcore sees no
           attention at all (counted separately as fvcore_fused, for the record).
  thop     thop.profile: module hooks only (nn.Linear, nn.Conv2d, nn.LayerNorm, ...);
           functional matmuls (q @ k^T, attn @ v) are not modules and count 0.
  torch    torch.utils.flop_counter.FlopCounterMode total / 2 (it counts 2 per multiply-add);
           matmul/linear/conv only, no norm, no elementwise op. Explicit attention.
  params   sum(p.numel() for p in model.parameters()).

Conventions tried for the figures that do not round (see COUNTING.md): the same
architecture with a distillation token (timm's *_distilled_* twin), and fvcore's total plus
elementwise work that fvcore leaves out by design: softmax (1 per attention-matrix element),
the scale multiply of timm 0.3.4's Attention (`attn = (q @ k^T) * scale`, 1 per
attention-matrix element), GELU (1 per hidden element), residual adds (2 per block and
token-channel), the bias adds of every Linear/Conv (1 per output element).
"""
import itertools
import json
import sys
from decimal import Decimal, ROUND_HALF_UP
from pathlib import Path

import torch
from torch import nn

torch.set_num_threads(1)

import timm  # noqa: E402
from fvcore.nn import FlopCountAnalysis  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402
import thop  # noqa: E402
from timm.layers import Mlp  # noqa: E402
from timm.models.vision_transformer import Attention, Block  # noqa: E402

HERE = Path(__file__).resolve().parent

# README "Model performance" table: FLOPs (G), # params (M), as printed.
# (row as printed, timm architecture, distilled twin, FLOPs, params)
TABLE = [
    ("DeiT-Ti", "deit_tiny_patch16_224", "deit_tiny_distilled_patch16_224", "1.3", "5.7"),
    ("PiT-Ti", "pit_ti_224", "pit_ti_distilled_224", "0.71", "4.9"),
    ("PiT-XS", "pit_xs_224", "pit_xs_distilled_224", "1.4", "10.6"),
    ("DeiT-S", "deit_small_patch16_224", "deit_small_distilled_patch16_224", "4.6", "22.1"),
    ("PiT-S", "pit_s_224", "pit_s_distilled_224", "2.9", "23.5"),
    ("DeiT-B", "deit_base_patch16_224", "deit_base_distilled_patch16_224", "17.6", "86.6"),
    ("PiT-B", "pit_b_224", "pit_b_distilled_224", "12.5", "73.8"),
]


def interval(printed: str):
    """[lo, hi) a printed figure accepts: 1.1 -> [1.05, 1.15)."""
    d = Decimal(printed)
    half = Decimal(1).scaleb(d.as_tuple().exponent) / 2
    return d - half, d + half


def holds(printed: str, value: float) -> bool:
    lo, hi = interval(printed)
    v = Decimal(repr(float(value)))  # shortest decimal form of the float
    return lo <= v < hi


def rnd(printed: str, value: float) -> str:
    """value rounded (half-up) to the printed figure's number of decimals."""
    q = Decimal(1).scaleb(Decimal(printed).as_tuple().exponent)
    return str(Decimal(repr(float(value))).quantize(q, rounding=ROUND_HALF_UP))


def build(name):
    m = timm.create_model(name, pretrained=False).eval()
    return m


def explicit(m):
    for mod in m.modules():
        if hasattr(mod, "fused_attn"):
            mod.fused_attn = False
    return m


def fvcore_total(m, x):
    fa = FlopCountAnalysis(m, x)
    fa.unsupported_ops_warnings(False)
    fa.uncalled_modules_warnings(False)
    total = fa.total()
    return total, {k: int(v) for k, v in fa.by_operator().items()}, sorted(fa.unsupported_ops())


def torch_total(m, x):
    # not under no_grad: its module tracker asserts on PiT's tuple-passing stages there
    with FlopCounterMode(display=False) as fc:
        m(x)
    return fc.get_total_flops() / 2


def thop_total(m, x):
    macs, params = thop.profile(m, inputs=(x,), verbose=False)
    return float(macs), float(params)


def elementwise(m, x):
    """Element counts of the work fvcore leaves out, taken with forward hooks."""
    c = dict(attn_matrix=0, gelu=0, residual_add=0, bias=0, layernorm=0, tokens_stage=[])

    def attn_hook(mod, inp, out):
        B, N, C = inp[0].shape
        c["attn_matrix"] += B * mod.num_heads * N * N
        c["tokens_stage"].append((N, C, mod.num_heads))

    def mlp_hook(mod, inp, out):
        B, N, _ = inp[0].shape
        c["gelu"] += B * N * mod.fc1.out_features

    def block_hook(mod, inp, out):
        c["residual_add"] += 2 * inp[0].numel()

    def bias_hook(mod, inp, out):
        if getattr(mod, "bias", None) is not None:
            c["bias"] += out.numel()

    def ln_hook(mod, inp, out):
        c["layernorm"] += out.numel()

    hs = []
    for mod in m.modules():
        if isinstance(mod, Attention):
            hs.append(mod.register_forward_hook(attn_hook))
        elif isinstance(mod, Mlp):
            hs.append(mod.register_forward_hook(mlp_hook))
        elif isinstance(mod, Block):
            hs.append(mod.register_forward_hook(block_hook))
        if isinstance(mod, (nn.Linear, nn.Conv2d)):
            hs.append(mod.register_forward_hook(bias_hook))
        if isinstance(mod, nn.LayerNorm):
            hs.append(mod.register_forward_hook(ln_hook))
    with torch.no_grad():
        m(x)
    for h in hs:
        h.remove()
    # distinct (tokens, channels, heads) per stage, in order
    seen = []
    for t in c["tokens_stage"]:
        if not seen or seen[-1] != t:
            seen.append(t)
    c["tokens_stage"] = seen
    return c


def count(name, x):
    r = {"model": name}
    m = build(name)
    r["params"] = sum(p.numel() for p in m.parameters())
    r["fvcore_fused"], _, r["fvcore_fused_unsupported"] = fvcore_total(m, x)
    explicit(m)
    r["fvcore"], r["fvcore_by_op"], r["fvcore_unsupported"] = fvcore_total(m, x)
    r["torch"] = torch_total(m, x)
    r["elementwise"] = elementwise(m, x)
    m2 = explicit(build(name))  # thop registers buffers: give it its own instance
    r["thop"], r["thop_params"] = thop_total(m2, x)
    return r


def main():
    x = torch.randn(1, 3, 224, 224)
    results = {}
    for row, arch, dist, *_ in TABLE:
        for name in (arch, dist):
            print(f"counting {name}", file=sys.stderr, flush=True)
            results[name] = count(name, x)
    (HERE / "counts.json").write_text(json.dumps(results, indent=1, default=str))

    G, M = 1e9, 1e6
    print("## Counts (one 224 image; G = 1e9 multiply-adds, M = 1e6 parameters)\n")
    print("| model | params (M) | fvcore (G) | fvcore, fused SDPA default (G) | thop (G) | torch FlopCounterMode/2 (G) |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['params']/M:.6f} | {r['fvcore']/G:.6f} | {r['fvcore_fused']/G:.6f} | "
              f"{r['thop']/G:.6f} | {r['torch']/G:.6f} |")

    print("\n## Published figures against each counter (rule: 1.1 holds on [1.05, 1.15))\n")
    print("| row | figure | published | timm model | measured | rounds to | verdict |")
    print("|---|---|---|---|---|---|---|")
    for row, arch, dist, flops, params in TABLE:
        for nm in (arch, dist):
            r = results[nm]
            for label, val, pub, unit in (
                ("params", r["params"], params, M),
                ("fvcore", r["fvcore"], flops, G),
                ("thop", r["thop"], flops, G),
                ("torch", r["torch"], flops, G),
            ):
                v = val / unit
                print(f"| {row} | {label} | {pub} | {nm} | {v:.6f} | {rnd(pub, v)} | "
                      f"{'holds' if holds(pub, v) else 'FAILS'} |")

    print("\n## Conventions on top of fvcore (GMACs); verdict against the README FLOPs\n")
    conv_names = [
        ("fvcore", lambda r, e: r["fvcore"]),
        ("fvcore - layernorm (= torch counter)", lambda r, e: r["fvcore"] - 5 * e["layernorm"]),
        ("+ softmax", lambda r, e: r["fvcore"] + e["attn_matrix"]),
        ("+ softmax + scale-mul (timm 0.3.4 attn*scale)", lambda r, e: r["fvcore"] + 2 * e["attn_matrix"]),
        ("+ GELU", lambda r, e: r["fvcore"] + e["gelu"]),
        ("+ bias adds", lambda r, e: r["fvcore"] + e["bias"]),
        ("+ residual adds", lambda r, e: r["fvcore"] + e["residual_add"]),
        ("+ all of the above elementwise", lambda r, e: r["fvcore"] + 2 * e["attn_matrix"] + e["gelu"] + e["bias"] + e["residual_add"]),
    ]
    hdr = "| convention | " + " | ".join(f"{row} {nm} ({pub})" for row, a, d, pub, _ in TABLE
                                          if row.startswith("PiT") for nm in ("", "dist")) + " |"
    print(hdr)
    print("|---|" + "---|" * (hdr.count("|") - 2))
    for cname, fn in conv_names:
        cells = []
        for row, arch, dist, pub, _ in TABLE:
            if not row.startswith("PiT"):
                continue
            for nm in (arch, dist):
                v = fn(results[nm], results[nm]["elementwise"]) / G
                cells.append(f"{v:.4f} {'ok' if holds(pub, v) else 'FAIL'}")
        print(f"| {cname} | " + " | ".join(cells) + " |")


    print("\n## Every combination of the extra terms, with and without layer_norm (64 conventions)\n")
    print("Which conventions make all four PiT FLOPs figures (0.71, 1.4, 2.9, 12.5) hold, on the")
    print("class-token architectures (plain) and on their distillation-token twins (dist).\n")
    terms = {"softmax": lambda e: e["attn_matrix"], "scale-mul": lambda e: e["attn_matrix"],
             "GELU": lambda e: e["gelu"], "bias": lambda e: e["bias"], "residual": lambda e: e["residual_add"]}
    pits = [(arch, dist, pub) for row, arch, dist, pub, _ in TABLE if row.startswith("PiT")]
    n_plain = n_dist = n_both = 0
    print("| layer_norm (fvcore's 5/elem) | extra terms | all plain hold | all dist hold |")
    print("|---|---|---|---|")
    for ln in (True, False):
        for k in range(len(terms) + 1):
            for sub in itertools.combinations(terms, k):
                def val(nm):
                    e = results[nm]["elementwise"]
                    return (results[nm]["fvcore"] - (0 if ln else 5 * e["layernorm"])
                            + sum(terms[t](e) for t in sub)) / G
                plain = all(holds(pub, val(a)) for a, d, pub in pits)
                dist = all(holds(pub, val(d)) for a, d, pub in pits)
                n_plain += plain; n_dist += dist; n_both += plain and dist
                print(f"| {'yes' if ln else 'no'} | {' + '.join(sub) or '(none)'} | "
                      f"{'yes' if plain else 'no'} | {'yes' if dist else 'no'} |")
    print(f"\nof 64 conventions: all plain hold in {n_plain}, all dist hold in {n_dist}, both in {n_both}")

    print("\n## Element counts (per image)\n")
    for name, r in results.items():
        e = r["elementwise"]
        print(f"{name}: attn-matrix {e['attn_matrix']:,} gelu {e['gelu']:,} bias {e['bias']:,} "
              f"residual {e['residual_add']:,} layernorm {e['layernorm']:,} stages(N,C,heads) {e['tokens_stage']}")

    print("\n## Parameters: PiT-Ti's 4.9 M\n")
    p = results["pit_ti_224"]["params"]
    print(f"pit_ti_224: {p:,} = {p/M:.6f} M; rounds to {rnd('4.9', p/M)} (one step), "
          f"to {rnd('4.85', p/M)} at two decimals, and that to {rnd('4.9', float(rnd('4.85', p/M)))} (half-up): "
          f"double rounding. Parameters missing for 4.85 M: {4_850_000 - p:,}.")
    pd = results["pit_ti_distilled_224"]["params"]
    print(f"pit_ti_distilled_224: {pd:,} = {pd/M:.6f} M -> {rnd('4.9', pd/M)}")


if __name__ == "__main__":
    main()
