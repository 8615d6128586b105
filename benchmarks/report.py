"""Renders a results dict: results.json (every raw sample), report.md and PNG plots; and compares
two results files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .stats import geomean, loglog_slope, median, spread

LABEL = {
    "native": "native -O2",
    "wasmtime-cranelift": "Cranelift",
    "wasmtime-winch": "Winch",
    "wasm3": "wasm3",
    "nearvm": "nearvm",
    "nearvm-frontend": "nearvm frontend",
}
BASELINES = ("wasmtime-cranelift", "wasmtime-winch")
EXEC_ORDER = ("native", "wasmtime-cranelift", "wasmtime-winch", "wasm3", "nearvm")
COMPILE_ORDER = ("wasmtime-cranelift", "wasmtime-winch", "wasm3", "nearvm-frontend", "nearvm")


def _t(s: float | None) -> str:
    if s is None:
        return "–"
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1.0:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def _pct(x: float | None) -> str:
    return "" if x is None else f" ±{x * 100:.0f}%"


def _ratio(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}×"


def _status(c: dict[str, Any] | None) -> str:
    if c is None:
        return "–"
    reason = str(c.get("reason", "")).replace("|", "/").replace("\n", " ")
    if len(reason) > 90:
        reason = reason[:87] + "..."
    return f"{c['status']} ({reason})"


def _med(c: dict[str, Any] | None) -> float | None:
    if c is None or c.get("status") != "ok":
        return None
    return median(c.get("samples") or [])


class Results:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.cells: dict[str, dict[str, Any]] = {c["key"]: c for c in data["cells"]}

    def get(self, key: str) -> dict[str, Any] | None:
        return self.cells.get(key)

    def med(self, key: str) -> float | None:
        return _med(self.get(key))

    def exec_workloads(self) -> list[str]:
        return [w for w, i in self.data["workloads"].items() if i.get("exec_table", True)]

    def peers(self, order: tuple[str, ...]) -> list[str]:
        present = {c.get("peer") for c in self.data["cells"]}
        return [p for p in order if p in present]

    def ratio(self, key_a: str, key_b: str) -> float | None:
        a, b = self.med(key_a), self.med(key_b)
        return a / b if a is not None and b else None

    def headline(self) -> dict[str, dict[str, float | None]]:
        """{baseline: {workload: nearvm / baseline}} plus the geometric mean under "geomean"."""
        out: dict[str, dict[str, float | None]] = {}
        for base in BASELINES:
            row = {w: self.ratio(f"exec/{w}/nearvm", f"exec/{w}/{base}") for w in self.exec_workloads()}
            row["geomean"] = geomean([r for r in row.values() if r is not None])
            out[base] = row
        return out

    def slopes(self) -> dict[tuple[str, str], float | None]:
        min_size = self.data.get("plan", {}).get("fit_min_size", 100_000)
        pts: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for c in self.data["cells"]:
            if c["kind"] == "scale" and c["status"] == "ok" and c["size"] >= min_size:
                m = median(c["samples"])
                if m:
                    pts.setdefault((c["shape"], c["peer"]), []).append((c["size"], m))
        return {k: loglog_slope(v) for k, v in pts.items()}


# -------------------------------------------------------------------------------------- markdown

def render_markdown(data: dict[str, Any], plots: list[str]) -> str:
    r = Results(data)
    m = data["machine"]
    out: list[str] = []
    w = out.append
    w(f"# nearvm benchmarks — {data['mode']} run, {data['started']}\n")
    w(f"Machine: {m['cpu']} × {m['cores']} cores, {m['platform']}, Python {m['python']}, "
      f"load average at start {m.get('loadavg_at_start')} / end {m.get('loadavg_at_end')}. "
      f"Commit `{m.get('git_commit', '?')[:12]}`. Duration {data['duration_s']:.0f} s. "
      f"Repetitions {data['plan']['reps']} after {data['plan']['warmup']} warm-up(s); times are medians, "
      "± is half the range relative to the median.\n")
    w("## Peers\n")
    w("| peer | status |")
    w("|---|---|")
    for p, info in data["peers"].items():
        w(f"| {LABEL.get(p, p)} | {info.get('version') if info['status'] == 'ok' else _status(info)} |")
    w("")

    # headline
    w("## Headline: nearvm execution time relative to Wasmtime\n")
    hl = r.headline()
    ws = r.exec_workloads()
    w("| vs | " + " | ".join(ws) + " | geomean |")
    w("|---" * (len(ws) + 2) + "|")
    for base in BASELINES:
        row = hl[base]
        w(f"| nearvm / {LABEL[base]} | " + " | ".join(_ratio(row[x]) for x in ws) + f" | {_ratio(row['geomean'])} |")
    w("\n(< 1 = nearvm faster. Missing values: nearvm or the baseline did not produce a valid sample; see below.)\n")

    # execution
    w("## Execution time per workload\n")
    w("Median time of one `run(n)` call (after instantiation and warm-up), and in brackets the ratio to "
      "Cranelift. Checksums must agree across all runtimes (reference: native).\n")
    eps = r.peers(EXEC_ORDER)
    w("| workload | n | " + " | ".join(LABEL[p] for p in eps) + " |")
    w("|---|---:" + "|---:" * len(eps) + "|")
    for wl in ws:
        cells = []
        for p in eps:
            c = r.get(f"exec/{wl}/{p}")
            if c is None or c["status"] != "ok":
                cells.append(_status(c))
                continue
            rat = r.ratio(f"exec/{wl}/{p}", f"exec/{wl}/wasmtime-cranelift")
            cells.append(f"{_t(median(c['samples']))}{_pct(spread(c['samples']))} ({_ratio(rat)})")
        w(f"| {wl} | {data['workloads'][wl]['n']} | " + " | ".join(cells) + " |")
    gm = []
    for p in eps:
        g = geomean([x for x in (r.ratio(f"exec/{wl}/{p}", f"exec/{wl}/wasmtime-cranelift") for wl in ws)
                     if x is not None])
        gm.append(_ratio(g))
    w("| **geomean vs Cranelift** | | " + " | ".join(gm) + " |")
    w("")
    w("| workload | what | wasm bytes | checksum |")
    w("|---|---|---:|---|")
    for wl, info in data["workloads"].items():
        w(f"| {wl} | {info['what']} | {info.get('wasm_size')} | `{info.get('checksum', '–')}` |")
    w("")

    # compile
    w("## Compile time of the workload modules\n")
    w("`Module(engine, bytes)` from a fresh start, single-threaded (wasmtime `parallel_compilation=False`). "
      "nearvm frontend = `nearvm.wasm.translate` alone (decode, validate, instrument, lower). wasm3 compiles "
      "lazily at the first call, so its figure is parsing only (`parse_module`). These modules are tiny; "
      "see scaling for MB/s.\n")
    cps = r.peers(COMPILE_ORDER)
    w("| workload | bytes | " + " | ".join(LABEL[p] for p in cps) + " |")
    w("|---|---:" + "|---:" * len(cps) + "|")
    for wl, info in data["workloads"].items():
        cells = []
        for p in cps:
            c = r.get(f"compile/{wl}/{p}")
            cells.append(_t(_med(c)) if c and c["status"] == "ok" else _status(c))
        w(f"| {wl} | {info.get('wasm_size')} | " + " | ".join(cells) + " |")
    tot = []
    for p in cps:
        cs = [r.get(f"compile/{wl}/{p}") for wl in data["workloads"]]
        meds = [(c["size"], _med(c)) for c in cs if c and c["status"] == "ok"]
        ok = len(meds) == len(cs) and all(m for _, m in meds)
        tot.append(f"{sum(b for b, _ in meds) / sum(m or 0 for _, m in meds) / 1e6:.2f} MB/s" if ok and meds else "–")
    w("| **all (total bytes / total time)** | | " + " | ".join(tot) + " |")
    w("")

    # scaling
    scale = [c for c in data["cells"] if c["kind"] == "scale"]
    if scale:
        w("## Compile-time scaling (synthetic modules, 10 kB → 10 MB)\n")
        w(f"Slope = least-squares fit of log(time) on log(size) over sizes ≥ {data['plan']['fit_min_size']} "
          "bytes (1.0 = linear, 2.0 = quadratic). MB/s at the largest size that ran.\n")
        slopes = r.slopes()
        spe = [p for p in ("wasmtime-cranelift", "wasmtime-winch", "nearvm-frontend", "nearvm")
               if any(c["peer"] == p for c in scale)]
        sizes = sorted({c["target"] for c in scale})
        w("| shape | peer | " + " | ".join(f"{s // 1000} kB" for s in sizes) + " | MB/s | slope |")
        w("|---|---" + "|---:" * len(sizes) + "|---:|---:|")
        for shape in data["plan"]["shapes"]:
            for p in spe:
                row = []
                best: tuple[int, float] | None = None
                for s in sizes:
                    c = r.get(f"scale/{shape}/{s}/{p}")
                    mm = _med(c)
                    if mm is not None and c is not None:
                        row.append(_t(mm))
                        best = (c["size"], mm)
                    else:
                        row.append(c["status"] if c else "–")
                mbs = f"{best[0] / best[1] / 1e6:.2f}" if best else "–"
                sl = slopes.get((shape, p))
                w(f"| {shape} | {LABEL[p]} | " + " | ".join(row) + f" | {mbs} | {'–' if sl is None else f'{sl:.2f}'} |")
        w("")

    # load latency
    loads = [c for c in data["cells"] if c["kind"] == "load"]
    if loads:
        w("## Deserialize + instantiate + call latency (fib module, `run(10)`)\n")
        w("From a serialized artifact (`Module.serialize` → `Module.deserialize`); medians.\n")
        w("| peer | deserialize | instantiate | call | total | artifact bytes |")
        w("|---|---:|---:|---:|---:|---:|")
        for c in loads:
            if c["status"] != "ok":
                w(f"| {LABEL[c['peer']]} | {_status(c)} | | | | |")
                continue
            note = f" ({c['note']})" if c.get("note") else ""
            w(f"| {LABEL[c['peer']]}{note} | {_t(median(c['deserialize_s']))} | {_t(median(c['instantiate_s']))} | "
              f"{_t(median(c['call_s']))} | {_t(median(c['total_s']))} | {c.get('blob_size') or '–'} |")
        w("")

    # metering
    w("## Metering overhead\n")
    w("Execution time with metering on / off: nearvm `Config(gas=GasSchedule.uniform(1))`, wasmtime "
      "`consume_fuel`.\n")
    mps = [p for p in ("wasmtime-cranelift", "wasmtime-winch", "nearvm") if p in eps]
    w("| workload | " + " | ".join(LABEL[p] for p in mps) + " |")
    w("|---" + "|---:" * len(mps) + "|")
    geo: dict[str, list[float]] = {p: [] for p in mps}
    for wl in ws:
        cells = []
        for p in mps:
            on = r.get(f"exec-metered/{wl}/{p}")
            rat = r.ratio(f"exec-metered/{wl}/{p}", f"exec/{wl}/{p}")
            if rat is None:
                if on is None:
                    cells.append("full run only" if data["mode"] == "quick" else "–")
                else:
                    cells.append(_status(on) if on["status"] != "ok" else "–")
            else:
                geo[p].append(rat)
                cells.append(_ratio(rat))
        w(f"| {wl} | " + " | ".join(cells) + " |")
    w("| **geomean** | " + " | ".join(_ratio(geomean(geo[p])) for p in mps) + " |")
    w("")

    # host calls
    hcs = [c for c in data["cells"] if c["kind"] == "hostcall"]
    if hcs:
        w("## Host-call overhead\n")
        w("A wasm loop calling the imported `env.host_inc` (a Python callable) n times; time per iteration.\n")
        w("| peer | n | per call |")
        w("|---|---:|---:|")
        for c in hcs:
            mm = _med(c)
            w(f"| {LABEL[c['peer']]} | {c['n']} | {_t(mm / c['n']) if mm is not None else _status(c)} |")
        w("")

    # problems
    crashed = [c for c in data["cells"] if c.get("teardown_crash")]
    if crashed:
        w("## Crashes at process exit\n")
        w("These cells measured and reported normally, then their worker process crashed while exiting "
          "(interpreter shutdown). The samples are kept, but the crash is a bug in that runtime.\n")
        w("| cell | what happened |")
        w("|---|---|")
        for c in crashed:
            w(f"| `{c['key']}` | {c['teardown_crash']} |")
        w("")
    bad = [c for c in data["cells"] if c["status"] not in ("ok",)]
    if bad:
        w("## Cells without a valid sample\n")
        w("| cell | status |")
        w("|---|---|")
        for c in bad:
            w(f"| `{c['key']}` | {_status(c)} |")
        w("")
    if plots:
        w("## Plots\n")
        for pth in plots:
            w(f"![{pth}]({pth})")
        w("")
    return "\n".join(out)


# ------------------------------------------------------------------------------------------ plots

def render_plots(data: dict[str, Any], out_dir: Path) -> tuple[list[str], str | None]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        return [], f"matplotlib missing ({exc}); pip install matplotlib"
    r = Results(data)
    files: list[str] = []

    scale = [c for c in data["cells"] if c["kind"] == "scale" and c["status"] == "ok"]
    if scale:
        shapes = data["plan"]["shapes"]
        fig, axes = plt.subplots(1, len(shapes), figsize=(4.2 * len(shapes), 4.2), squeeze=False)
        for ax, shape in zip(axes[0], shapes, strict=True):
            ref_pt: tuple[float, float] | None = None
            for p in ("wasmtime-cranelift", "wasmtime-winch", "nearvm-frontend", "nearvm"):
                pts = sorted((c["size"], median(c["samples"]) or 0) for c in scale
                             if c["shape"] == shape and c["peer"] == p)
                if pts:
                    ax.loglog([x for x, _ in pts], [y for _, y in pts], "o-", label=LABEL[p])
                    if ref_pt is None or pts[0][1] > ref_pt[1]:
                        ref_pt = pts[0]
            if ref_pt:
                xs = [c["size"] for c in scale if c["shape"] == shape]
                lo, hi = min(xs), max(xs)
                k = ref_pt[1] / ref_pt[0]
                ax.loglog([lo, hi], [k * lo, k * hi], "k--", linewidth=0.8, label="linear")
            ax.set_title(shape)
            ax.set_xlabel("module size (bytes)")
            ax.grid(True, which="both", alpha=0.3)
        axes[0][0].set_ylabel("compile time (s)")
        axes[0][0].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out_dir / "compile_scaling.png", dpi=110)
        plt.close(fig)
        files.append("compile_scaling.png")

    ws = r.exec_workloads()
    eps = [p for p in r.peers(EXEC_ORDER) if p != "wasmtime-cranelift"]
    if ws and eps:
        fig, ax = plt.subplots(figsize=(max(8.0, 1.1 * len(ws)), 4.5))
        width = 0.8 / len(eps)
        for i, p in enumerate(eps):
            vals = [r.ratio(f"exec/{wl}/{p}", f"exec/{wl}/wasmtime-cranelift") or 0.0 for wl in ws]
            ax.bar([j + i * width for j in range(len(ws))], vals, width, label=LABEL[p])
        ax.axhline(1.0, color="k", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_xticks([j + width * (len(eps) - 1) / 2 for j in range(len(ws))])
        ax.set_xticklabels(ws, rotation=20)
        ax.set_ylabel("execution time / Cranelift (log)")
        ax.set_title("Execution time relative to wasmtime Cranelift (missing bar = no valid sample)")
        ax.legend(fontsize=8)
        ax.grid(True, axis="y", which="both", alpha=0.3)
        fig.tight_layout()
        fig.savefig(out_dir / "exec_ratios.png", dpi=110)
        plt.close(fig)
        files.append("exec_ratios.png")
    return files, None


def save(data: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    plots, plot_err = render_plots(data, out_dir)
    if plot_err:
        data["plot_error"] = plot_err
    (out_dir / "results.json").write_text(json.dumps(data, indent=1, sort_keys=False))
    md = render_markdown(data, plots)
    if plot_err:
        md += f"\n(plots not written: {plot_err})\n"
    (out_dir / "report.md").write_text(md)
    return out_dir / "report.md"


# ---------------------------------------------------------------------------------------- compare

def compare(path_a: Path, path_b: Path) -> str:
    a = Results(json.loads(path_a.read_text()))
    b = Results(json.loads(path_b.read_text()))
    out: list[str] = []
    w = out.append
    w(f"# Comparison: A = {path_a} ({a.data['started']}, {a.data['mode']}) vs B = {path_b} "
      f"({b.data['started']}, {b.data['mode']})\n")
    for tag, r in (("A", a), ("B", b)):
        m = r.data["machine"]
        w(f"- {tag}: {m['cpu']} × {m['cores']}, commit `{str(m.get('git_commit', '?'))[:12]}`, "
          f"load {m.get('loadavg_at_start')}")
    w("")
    w("## Headline ratios (nearvm / baseline; machine-independent, compare these first)\n")
    w("| baseline | workload | A | B | B/A |")
    w("|---|---|---:|---:|---:|")
    ha, hb = a.headline(), b.headline()
    for base in BASELINES:
        for wl in list(dict.fromkeys(list(ha[base]) + list(hb[base]))):
            ra, rb = ha[base].get(wl), hb[base].get(wl)
            chg = _ratio(rb / ra) if ra and rb else "–"
            w(f"| {LABEL[base]} | {wl} | {_ratio(ra)} | {_ratio(rb)} | {chg} |")
    w("")
    w("## Every cell (medians; B/A > 1 = B slower)\n")
    w("| cell | A | B | B/A |")
    w("|---|---:|---:|---:|")
    for key in list(dict.fromkeys(list(a.cells) + list(b.cells))):
        ca, cb = a.get(key), b.get(key)
        ma, mb = _med(ca), _med(cb)
        sa = _t(ma) if ma is not None else (ca["status"] if ca else "absent")
        sb = _t(mb) if mb is not None else (cb["status"] if cb else "absent")
        w(f"| `{key}` | {sa} | {sb} | {_ratio(mb / ma) if ma and mb else '–'} |")
    if a.data["mode"] != b.data["mode"]:
        w("\nNote: the runs used different modes (quick/full): n and sizes differ, so absolute times of "
          "exec cells are not comparable; ratios between runtimes still are.")
    return "\n".join(out) + "\n"
