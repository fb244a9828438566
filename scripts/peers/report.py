#!/usr/bin/env python3
"""Turns the results of scripts/bench_peers.sh into a Markdown section and, with --write 1,
puts it into BENCHMARKS.md in place of the section of the same title (or at the end).

Usage: report.py RESULTS_DIR BENCHMARKS_MD --write 0|1 --threads N --quick 0|1 --limit N
       --latency-runs N --setup-s S --measure-s S --total-s S [--started UNIX_S] [--note TEXT]

Reads, per model (cnn, mlp): kiln-M.log (JSON lines of examples/04_bench.rs), keras-M.json and
torch-M.json (the Python peers' output files), candle-train-M.log, candle-infer-M.log and
tract-M-Nt.log (their `RESULT key=value` lines), every NAME.run.json (exit code, wall time,
peak RSS), notes.tsv (why a peer has no figure) and versions.txt.
"""
import argparse, datetime, json, os, platform, re, subprocess

TITLE = "## Side by side with the peers (scripts/bench_peers.sh)"
PEERS = [("keras", "Keras 3 / TF"), ("torch", "PyTorch"), ("candle", "candle"), ("tract", "tract")]
MODELS = [("cnn", "Seed CNN"), ("mlp", "Seed MLP (784-512-10)")]

ap = argparse.ArgumentParser()
ap.add_argument("results")
ap.add_argument("benchmarks")
for flag in ["--write", "--threads", "--quick", "--limit", "--latency-runs"]:
    ap.add_argument(flag, type=int, required=True)
for flag in ["--setup-s", "--measure-s", "--total-s"]:
    ap.add_argument(flag, type=float, required=True)
ap.add_argument("--started", type=float, help="when the run began, in Unix seconds")
ap.add_argument("--note", default="")
args = ap.parse_args()
R = args.results


def path(name):
    return os.path.join(R, name)


def load_json(name):
    try:
        with open(path(name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def json_lines(name):
    """The JSON lines of a log merged into one dict."""
    out = {}
    try:
        with open(path(name)) as f:
            for line in f:
                if line.startswith("{"):
                    out.update(json.loads(line))
    except (OSError, ValueError):
        pass
    return out


def result_line(name):
    """`RESULT k=v ...` and `test_acc=...` lines of a log as one dict of floats (or strings)."""
    out = {}
    try:
        with open(path(name)) as f:
            for line in f:
                if line.startswith("RESULT ") or line.startswith("test_acc="):
                    for k, v in re.findall(r"(\w+)=(\S+)", line):
                        try:
                            out[k] = float(v)
                        except ValueError:
                            out[k] = v
    except OSError:
        pass
    return out


def ran(name):
    r = load_json(name + ".run.json")
    return r if r and r["rc"] == 0 else None


def rss(name):
    r = ran(name)
    return r["peak_rss_mib"] if r else None


notes = {}
try:
    with open(path("notes.tsv")) as f:
        for line in f:
            key, _, why = line.rstrip("\n").partition("\t")
            notes.setdefault(key, []).append(why)
except OSError:
    pass
versions = {}
try:
    with open(path("versions.txt")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            versions[k] = v
except OSError:
    pass

# ------------------------------------------------------------------ figures
# Each figure: a number, or None; `how` says which path a peer's figure comes from.
footnotes = []


def footnote(text):
    if text not in footnotes:
        footnotes.append(text)
    return footnotes.index(text) + 1


figures = {}  # (model, framework) -> dict
for m, _ in MODELS:
    k = json_lines(f"kiln-{m}.log") if ran(f"kiln-{m}") else {}
    figures[m, "kiln"] = {
        "train": k.get("steady_img_s"), "acc": k.get("test_acc"), "rss": rss(f"kiln-{m}"),
        "b1": k.get("b1_median_us"), "b1000": k.get("b1000_img_s"),
        "b1000_1t": k.get("b1000_img_s_1thread"), "wall": k.get("wall_s"),
    }
    for fw in ["keras", "torch"]:
        j = load_json(f"{fw}-{m}.json") if ran(f"{fw}-{m}") else None
        f = {}
        if j:
            ep = j["epochs"][0]
            f = {"train": ep["steady_img_s"], "acc": ep["test_acc"], "rss": rss(f"{fw}-{m}"), "wall": ep["wall_s"]}
            inf = j["inference"]
            b1 = {k: v for k, v in inf.items() if k.startswith("b1_")}
            b1000 = {k: v for k, v in inf.items() if k.startswith("b1000_")}
            if b1:
                best = min(b1, key=b1.get)
                f["b1"], f["b1_how"] = b1[best], best
            if b1000:
                best = max(b1000, key=b1000.get)
                f["b1000"], f["b1000_how"] = b1000[best], best
        figures[m, fw] = f
    t = result_line(f"candle-train-{m}.log") if ran(f"candle-train-{m}") else {}
    i = result_line(f"candle-infer-{m}.log") if ran(f"candle-infer-{m}") else {}
    figures[m, "candle"] = {
        "train": t.get("steady_img_s"), "acc": t.get("test_acc"), "rss": rss(f"candle-train-{m}"),
        "b1": i.get("b1_median_us"), "b1000": i.get("b1000_img_s_best"), "wall": t.get("epoch_s"),
    }
    one = result_line(f"tract-{m}-1t.log") if ran(f"tract-{m}-1t") else {}
    many = result_line(f"tract-{m}-{args.threads}t.log") if ran(f"tract-{m}-{args.threads}t") else {}
    trained = os.path.exists(path(f"candle-{m}.safetensors"))
    figures[m, "tract"] = {
        "acc": one.get("test_acc") if trained else None,
        "b1": one.get("b1_median_us"), "b1000": many.get("b1000_img_s_best"),
        "b1_many": many.get("b1_median_us"), "b1000_one": one.get("b1000_img_s_best"),
    }

# ------------------------------------------------------------------ formatting
def num(v, digits=0):
    return f"{v:,.{digits}f}" if digits == 0 or v < 100 else f"{v:,.0f}"


def cell(value, kiln, kind, fw, m):
    """A peer's figure with the kiln/peer ratio (or the accuracy difference)."""
    if value is None:
        return missing(fw, m, kind)
    if kind == "acc":
        text = f"{100 * value:.2f}%"
        if fw == "tract":  # candle's weights: the same figure as candle's, by construction
            return text
        return text if kiln is None else f"{text} ({100 * (kiln - value):+.2f} pt)"
    text = num(value, 1)
    return text if kiln is None else f"{text} ({kiln / value:.2f}×)"


def missing(fw, m, what):
    """'—' with a footnote saying why, or n/a where a framework does not do this."""
    if fw == "tract" and what in ("train", "rss"):
        return "n/a"
    if fw == "tract" and what == "acc" and not os.path.exists(path(f"candle-{m}.safetensors")):
        return "n/a"
    reasons = notes.get(fw, [])
    own = [r for r in reasons if f"-{m}" in r.split(":")[0]]
    general = [r for r in reasons if not re.search(r"-(cnn|mlp)\b", r.split(":")[0])]
    why = (own or general or ["no figure in its output"])[0]
    return f"— [{footnote(f'{label(fw)}: {why}')}]"


def label(fw):
    return dict(PEERS + [("kiln", "kiln")])[fw]


ROWS = [
    ("train", "training, images/s (steady) ↑"),
    ("acc", "test accuracy after the epoch"),
    ("rss", "peak RSS of the training process, MiB ↓"),
    ("b1", "batch-1 forward, µs (median) ↓"),
    ("b1000", "batch-1000 predict, images/s ↑"),
]


def table(m):
    head = "| | kiln | " + " | ".join(name for _, name in PEERS) + " |"
    lines = [head, "|---|" + "---:|" * (1 + len(PEERS))]
    for what, name in ROWS:
        k = figures[m, "kiln"].get(what)
        kc = ("—" if k is None else f"{100 * k:.2f}%" if what == "acc" else num(k, 1))
        row = [name, f"**{kc}**"]
        for fw, _ in PEERS:
            row.append(cell(figures[m, fw].get(what), k, what, fw, m))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine():
    info = {}
    for line in sh(["lscpu"]).splitlines():
        k, _, v = line.partition(":")
        info[k.strip()] = v.strip()
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    avx512 = sorted(f[len("avx512"):].lstrip("_").upper() for f in flags if f.startswith("avx512"))
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(next(l for l in f if l.startswith("MemTotal")).split()[1])
            mem = f", {kib / 2**20:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    guest = f" ({info['Hypervisor vendor']} guest)" if info.get("Hypervisor vendor") else ""
    return (f"{info.get('Model name', platform.processor() or 'unknown CPU')}{guest}, "
            f"{os.cpu_count()} cores{mem}; AVX2 {'yes' if 'avx2' in flags else 'no'}, "
            f"AVX-512 {('yes (' + '/'.join(avx512) + ')') if avx512 else 'no'}; "
            f"Linux {platform.release()}")


def minutes(s):
    return f"{s / 60:.1f} min"


def kiln_version():
    """The revision the script built, `-dirty` if kiln's sources had uncommitted changes."""
    rev = versions.get("kiln", "unknown")
    if rev.endswith("-dirty"):
        return f"commit {rev[:-len('-dirty')]} with uncommitted changes"
    return f"commit {rev}"


v = versions.get


def absent(fw, otherwise):
    return f"{label(fw)}: skipped" if any(n.startswith("skipped") for n in notes.get(fw, [])) else f"{label(fw)}: {otherwise}"


peer_versions = "; ".join([
    f"Keras {v('keras', '?')} on TensorFlow {v('tensorflow', '?')} (`tensorflow-cpu`)" if v("keras") else absent("keras", "not installed"),
    f"PyTorch {v('torch', '?')} (PyPI's wheel, a CUDA build, run on the CPU)" if v("torch") else absent("torch", "not installed"),
    f"candle {v('candle-core')}" if v("candle-core") else absent("candle", "not built"),
    f"tract {v('tract-onnx')} (feature `mt`; ONNX from onnx {v('onnx', '?')})" if v("tract-onnx") else absent("tract", "not built"),
])
utc = datetime.timezone.utc
if args.started:
    start = datetime.datetime.fromtimestamp(args.started, utc)
    end = start + datetime.timedelta(seconds=args.total_s)
else:
    start = end = datetime.datetime.now(utc)
now = f"{start:%Y-%m-%d}, {start:%H:%M}–{end:%H:%M} UTC"
quick = (f"**QUICK smoke run: {args.limit} training images, {args.latency_runs} latency calls — "
         "not a measurement.**\n\n" if args.quick else "")

out = [TITLE, "", quick + (
    f"Machine: {machine()}. Date: {now}. Threads: **{args.threads}** for every framework "
    f"(`THREADS={args.threads}`), one run at a time. kiln: {kiln_version()}, rustc {v('rustc', '?')}, "
    f"`--release` without `target-cpu=native`. Peers: {peer_versions}; Python {v('python', '?')}."), ""]
if args.note:
    out += [args.note, ""]
out += [
    f"Work: one epoch over the {args.limit:,} training images (Adam, lr 1e-3, batch 128, shuffled), then "
    "the 10,000 test images; `images/s` counts the steps after the first 20, as the peers' "
    "programs in `../shared/peers` do. Batch-1 forward: the median of "
    f"{args.latency_runs} calls on one test image at a time, result read back (kiln's `forward` on one "
    f"thread); batch 1000: `predict` on 1000 test images, split over {args.threads} threads for kiln. "
    "Peak RSS: the kernel's `ru_maxrss` of the training process (what `/usr/bin/time -v` "
    "reports). In brackets: kiln ÷ peer (above 1: kiln's figure is the larger, better for "
    "images/s, worse for µs and MiB); for accuracy, kiln minus peer. tract runs inference only, "
    "on ONNX exports of candle's trained weights.",
    "",
]
for m, name in MODELS:
    out += [f"### {name}", "", table(m), ""]

# Which path each peer's inference figure comes from, and the runs behind kiln's.
details = []
for m, name in MODELS:
    kf, kr, tr = figures[m, "keras"], figures[m, "torch"], figures[m, "tract"]
    parts = []
    if kf.get("b1_how"):
        parts.append(f"Keras's best batch-1 path is `{kf['b1_how'][3:-3]}`, batch-1000 `{kf['b1000_how'][6:-6]}` "
                     "(median of 20)")
    if kr.get("b1"):
        parts.append("PyTorch's figures include the softmax (`inference_mode`)")
    if tr.get("b1") is not None:
        extra = f"; {num(tr['b1_many'], 1)} µs with {args.threads}" if tr.get("b1_many") else ""
        parts.append(f"tract's batch 1 runs on one thread (its default{extra}), its batch 1000 on "
                     f"{args.threads}")
    k = figures[m, "kiln"]
    if k.get("b1000_1t"):
        parts.append(f"kiln's batch 1000 on one thread: {num(k['b1000_1t'], 1)} images/s")
    if parts:
        details.append(f"- {name.split(' (')[0]}: " + "; ".join(parts) + ".")
details.append("- candle's and tract's batch-1000 figures are the best of 3 passes over the test set "
               "(10 batches each), and they compute logits, without the softmax. candle trains with "
               "`AdamW` at weight decay 0, which is Adam; tract's accuracy is that of candle's "
               "weights, a check of the export.")
out += ["Notes:", ""] + details + [""]
if footnotes:
    out += ["Missing figures:", ""] + [f"{i}. {t}" for i, t in enumerate(footnotes, 1)] + [""]
out += [
    f"The script took {minutes(args.total_s)}: {minutes(args.setup_s)} to install and build what "
    f"was missing, {minutes(args.measure_s)} to measure. Raw outputs: `target/peers/results/`.",
    "",
]
section = "\n".join(out)
print(section)

if args.write:
    try:
        with open(args.benchmarks) as f:
            text = f.read()
    except OSError:
        text = "# Benchmarks\n"
    lines = text.split("\n")
    start = next((i for i, l in enumerate(lines) if l.strip() == TITLE), None)
    if start is None:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        rest = "\n".join(lines[end:])
        text = "\n".join(lines[:start]) + "\n" + section + ("\n" + rest if rest else "")
    with open(args.benchmarks, "w") as f:
        f.write(text.rstrip("\n") + "\n")
