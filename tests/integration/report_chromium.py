#!/usr/bin/env python3
"""engram report's pages opened in headless Chromium (Debian's `chromium`).

Usage: report_chromium.py ENGRAM SOURCE_DIR PNG_REGIONS

Builds the report of a small run directory of each kind the shipped scripts write (split_mnist,
curriculum, lifelong_vae, omniglot and arm from copies of docs/results, the full compression sweep
from a copy of results/compression_sweep.csv; a distill run, a compression sweep's results.json
and a run with loss curves, FWT, association -ELBO and recollection grids written here),
then for each page:
  * loads a copy with a script that writes the plots' and images' boxes into the DOM, with
    --enable-logging: fails on any console message (the page has no script of its own, so any
    message is an error: a blocked resource, a parse error, an exception);
  * its --dump-dom: every expected section heading (<h2>) is there, each plot figure holds one
    <svg> whose gnuplot plot groups draw data (more path points / markers / cells than a key);
  * --screenshot of the page itself, the window as tall as the page: inside every plot's box
    some pixels are coloured (a series, a cell, a bar: not only black and grey axes and text;
    a heatmap's cells, not only its colour box), every image is not blank, and the page is not
    one colour.
Exit 0 when every check passes, 1 otherwise (each failure printed), 77 (skipped) when chromium
or gnuplot is not installed. Nothing under SOURCE_DIR is modified.
"""
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ENGRAM, SRC, PNG_REGIONS = sys.argv[1], sys.argv[2], sys.argv[3]
WIDTH = 1400
MAX_HEIGHT = 30000
VERBOSE = bool(os.environ.get("ENGRAM_CHROMIUM_VERBOSE"))
failures = []


def fail(kind, message):
    failures.append(f"{kind}: {message}")
    print(f"FAIL {kind}: {message}", flush=True)


def chromium(args, timeout=120):
    # --disable-dev-shm-usage: containers' small /dev/shm crashes tall screenshots.
    base = ["chromium", "--headless", "--disable-gpu", "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--no-first-run", "--no-default-browser-check", "--mute-audio",
            "--user-data-dir=" + tempfile.mkdtemp(prefix="chromium-profile-", dir=WORK)]
    if os.geteuid() == 0:
        base.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    return subprocess.run(base + args, capture_output=True, text=True, timeout=timeout)


class Page(html.parser.HTMLParser):
    """Headings, plot figures and what their gnuplot plot groups draw."""

    DRAWN = {"path", "polygon", "polyline", "use", "rect", "image", "line", "circle"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.h2 = []
        self.in_h2 = False
        self.figures = []  # one dict per <figure class="plot">
        self.depth = 0  # element depth
        self.figure_depth = None
        self.group_depth = None  # inside a gnuplot_plot_N group
        self.in_caption = False
        self.images = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        void = tag in ("img", "br", "meta", "use", "path", "polygon", "polyline", "rect",
                       "image", "line", "circle")
        if tag == "h2":
            self.in_h2 = True
            self.h2.append("")
        if tag == "figure" and "plot" in (a.get("class") or "").split():
            self.figure_depth = self.depth
            self.figures.append({"svgs": 0, "groups": 0, "marks": 0, "caption": ""})
        if tag == "img":
            self.images += 1
        if tag == "figcaption":
            self.in_caption = True
        fig = self.figures[-1] if self.figure_depth is not None else None
        if fig is not None:
            if tag == "svg":
                fig["svgs"] += 1
            if tag == "g" and re.search(r"gnuplot_plot_\d+$", a.get("id") or ""):
                fig["groups"] += 1
                self.group_depth = self.depth
            if self.group_depth is not None and tag in self.DRAWN:
                # A path counts its points, other shapes one mark each.
                d = a.get("d") or a.get("points") or ""
                fig["marks"] += max(1, len(re.findall(r"-?\d+(?:\.\d+)?,-?\d+(?:\.\d+)?", d))
                                    + len(re.findall(r"[MLml]\s*-?\d", d)) // 2)
        if not void:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag in ("img", "br", "meta"):
            return
        if tag in ("use", "path", "polygon", "polyline", "rect", "image", "line", "circle"):
            return  # self-closing in the dump or not: never counted in depth
        self.depth -= 1
        if tag == "h2":
            self.in_h2 = False
        if tag == "figcaption":
            self.in_caption = False
        if self.group_depth is not None and self.depth <= self.group_depth:
            self.group_depth = None
        if self.figure_depth is not None and self.depth <= self.figure_depth:
            self.figure_depth = None

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        if self.in_h2:
            self.h2[-1] += data
        if self.in_caption and self.figure_depth is not None and self.figures:
            self.figures[-1]["caption"] += data


GEOMETRY_SCRIPT = """<script>
(function () {
  var out = {height: document.documentElement.scrollHeight, plots: [], images: []};
  function box(e) {
    var r = e.getBoundingClientRect();
    return [Math.round(r.left + window.scrollX), Math.round(r.top + window.scrollY),
            Math.round(r.width), Math.round(r.height)];
  }
  document.querySelectorAll('figure.plot svg').forEach(function (e) { out.plots.push(box(e)); });
  document.querySelectorAll('img').forEach(function (e) { out.images.push(box(e)); });
  var pre = document.createElement('pre');
  pre.id = 'engram-geometry';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def check_page(kind, report, expected):
    # 1. A copy of the page with a script that records the plots' and images' boxes into the
    # DOM (for the screenshot below); loaded with logging on, it also shows console messages
    # (the page itself has no script: any message is a problem; the added script logs none).
    geom_page = os.path.join(os.path.dirname(report), "geometry.html")
    with open(report, encoding="utf-8") as f:
        text = f.read()
    with open(geom_page, "w", encoding="utf-8") as f:
        f.write(text.replace("</body>", GEOMETRY_SCRIPT + "</body>"))
    r = chromium(["--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000",
                  f"--window-size={WIDTH},900", "--dump-dom", "file://" + geom_page])
    if r.returncode != 0:
        fail(kind, f"chromium --dump-dom exited {r.returncode}: {r.stderr[-2000:]}")
        return
    console = [line for line in r.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    for line in console:
        fail(kind, "console: " + line)
    dom = r.stdout

    # 2. Sections and plots in the DOM Chromium built.
    page = Page()
    page.feed(dom)
    headings = [h.strip() for h in page.h2]
    for h in expected:
        if h not in headings:
            fail(kind, f"section '{h}' missing (sections: {headings})")
    if not page.figures:
        fail(kind, "no plot at all")
    for i, f in enumerate(page.figures):
        name = f"plot {i + 1} '{f['caption'].strip()[:60]}'"
        if f["svgs"] != 1:
            fail(kind, f"{name}: {f['svgs']} <svg> elements, want 1")
        # A key entry draws a 2-point line and a marker per series: data draws more.
        if VERBOSE:
            print(f"    {name}: {f['groups']} plot groups, {f['marks']} marks")
        if f["groups"] == 0 or f["marks"] <= 3 * f["groups"]:
            fail(kind, f"{name}: nothing drawn ({f['groups']} plot groups, {f['marks']} marks)")

    # 3. Pixels: a screenshot of the whole page (the window as tall as the page), each plot's
    # and image's box measured.
    m = re.search(r'<pre id="engram-geometry">(.*?)</pre>', dom, re.S)
    if not m:
        fail(kind, "the geometry script wrote nothing")
        return
    geometry = json.loads(html.unescape(m.group(1)))
    if len(geometry["plots"]) != len(page.figures):
        fail(kind, f"{len(geometry['plots'])} plot boxes for {len(page.figures)} plot figures")
    height = min(geometry["height"], MAX_HEIGHT)
    shot = os.path.join(os.path.dirname(report), "screenshot.png")
    s = chromium([f"--window-size={WIDTH},{height}", "--screenshot=" + shot, "file://" + report])
    if s.returncode != 0 or not os.path.exists(shot):
        fail(kind, f"chromium --screenshot failed ({s.returncode}): {s.stderr[-2000:]}")
        return
    boxes = [b for b in geometry["plots"] + geometry["images"] if b[1] + b[3] <= height]
    captions = [f["caption"].strip() for f in page.figures]
    out = subprocess.run([PNG_REGIONS, shot] + [str(v) for b in boxes for v in b],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    w, h, colours = map(int, out[0].split()[1:])
    print(f"  {kind}: screenshot {w}x{h}, {colours} colours, {len(geometry['plots'])} plots, "
          f"{len(geometry['images'])} images", flush=True)
    if colours < 50:
        fail(kind, f"the screenshot has {colours} colours: blank page?")
    nplots = len([b for b in geometry["plots"] if b[1] + b[3] <= height])
    for i, line in enumerate(out[1:]):
        _, idx, pixels, nonwhite, chromatic, distinct = line.split()
        nonwhite, chromatic = float(nonwhite), float(chromatic)
        what = (f"plot {i + 1} '{captions[i] if i < len(captions) else ''}'" if i < nplots
                else f"image {i - nplots + 1}")
        if VERBOSE:
            print(f"    {what}: {pixels} px, {nonwhite:.4f} non-white, {chromatic:.4f} coloured, "
                  f"{distinct} colours")
        if int(pixels) < 1000:
            fail(kind, f"{what}: drawn {pixels} pixels large")
        elif i < nplots and (chromatic < (0.05 if what.endswith("matrix'") else 0.003)
                             or nonwhite < 0.02):
            # A heatmap's colour box alone is about 3% of its box; its cells cover far more.
            fail(kind, f"{what}: blank on screen ({chromatic:.4f} coloured, {nonwhite:.4f} "
                       "non-white)")
        elif i >= nplots and int(distinct) < 3:
            fail(kind, f"{what}: blank on screen ({distinct} colours)")
    return shot


def copy_run(name):
    """A copy of docs/results/NAME without its committed report.html, or None if absent."""
    src = os.path.join(SRC, "docs", "results", name)
    if not os.path.isdir(src):
        return None
    dst = os.path.join(WORK, name)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("report.html", "*.log", "log.txt"))
    return dst


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def write_gray_png(path, width, height, pixel):
    """A grayscale PNG (zlib from the standard library), pixel(x, y) -> 0..255."""
    import struct
    import zlib
    raw = b"".join(b"\x00" + bytes(pixel(x, y) for x in range(width)) for y in range(height))

    def chunk(tag, data):
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0,
                                                             0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(png)


def synthetic_distill():
    d = os.path.join(WORK, "distill_mnist_small")
    os.makedirs(d)
    write(os.path.join(d, "summary.json"), json.dumps({
        "student": "mlp", "seed": 1, "episodes": 1000, "checkpoints": [100, 300, 1000],
        "teacher_accuracy": 0.9811, "columns": ["real", "buffer_10x", "active_diverse_100x"]}))
    write(os.path.join(d, "accuracy.csv"), "episodes,real,buffer_10x,active_diverse_100x\n"
          "100,20.00,30.00,41.00\n300,61.50,70.25,74.00\n1000,80.00,85.50,88.10\n")
    write(os.path.join(d, "memories.csv"),
          "memory,c,l,codes,compression,code_bytes,decoder_bytes,l1,train_seconds\n"
          "10x,168,2,60000,37.3,1260000,2298944,0.0325,218\n"
          "100x,38,2,60000,165.1,285000,1766464,0.0529,99\n")
    write(os.path.join(d, "timing.csv"),
          "column,seconds,eval_seconds,drawn,drawn_mean_pixel,trained_mean_pixel\n"
          "real,10.5,2.0,1000,0.13,0.13\nbuffer_10x,7.25,1.5,1000,0.12,0.12\n"
          "active_diverse_100x,14.0,1.6,100000,0.11,0.12\n")
    return d


def synthetic_sweep():
    d = os.path.join(WORK, "compression_sweep_small")
    os.makedirs(d)
    results = []
    for c, l1 in ((38, 0.0606), (62, 0.0505), (168, 0.0354)):
        results.append({"latent": "discrete", "c": c, "l": 2, "bits_per_code": c,
                        "compression": 6272 / c, "l1": l1, "l1_train": l1 - 0.0002})
    for h, l1 in ((8, 0.09), (20, 0.041), (80, 0.02)):
        results.append({"latent": "continuous", "h": h, "kl_weight": 1, "bits_per_code": 32 * h,
                        "compression": 6272 / (32 * h), "l1": l1})
    paper = [{"latent": "discrete", "compression": 6272 / 38, "l1": 0.05785},
             {"latent": "discrete", "compression": 6272 / 168, "l1": 0.01955},
             {"latent": "continuous", "compression": 9.8, "l1": 0.0354}]
    write(os.path.join(d, "results.json"), json.dumps(
        {"protocol": {"epochs": 1, "quick": True}, "results": results, "paper": paper}))
    return d


def copy_sweep_csv():
    """The committed full sweep's CSV alone (no results.json), or None if absent."""
    src = os.path.join(SRC, "results", "compression_sweep.csv")
    if not os.path.exists(src):
        return None
    d = os.path.join(WORK, "compression_sweep_csv")
    os.makedirs(d)
    shutil.copy(src, d)
    return d


def synthetic_curves():
    """A split_mnist-like run with loss curves (and a sleep phase), FWT, association -ELBO and
    recollection grids."""
    d = os.path.join(WORK, "split_mnist_curves")
    os.makedirs(d)
    runs = []
    for method, base in (("er", 0.5), ("recollections", 0.8)):
        for seed in (1, 2):
            it, task, loss, rate, phase = [], [], [], [], []
            for k in range(1, 101):
                it.append(10 * k)
                task.append(1 + (k - 1) // 20)
                sleeping = method == "recollections" and k % 20 > 16
                phase.append("sleep" if sleeping else "learn")
                loss.append(2.3 / (1 + 0.1 * (k % 20)) + 0.01 * seed)
                rate.append(900 + 40 * ((k * 7) % 5) - (300 if sleeping else 0))
            curve = {"every": 10, "iteration": it, "task": task, "loss": loss,
                     "samples_per_s": rate}
            if method == "recollections":
                curve["phase"] = phase
                curve["association_neg_elbo"] = [130 - 0.1 * k + 2 * (k % 20 == 0)
                                                 for k in range(1, 101)]
            m = [[(0.97 if j == i else base * 0.9 ** (i - j)) if j <= i else 0.0
                  for j in range(5)] for i in range(5)]
            run = {"method": method, "seed": seed, "class_il": m, "fwt": 0.01 * seed,
                   "memory": {"bytes_used": 156191, "incremental_bytes": 156191,
                              "total_bytes": 2177244},
                   "phases": [{"task": t + 1} for t in range(5)], "curve": curve}
            if method == "recollections":
                for t, p in enumerate(run["phases"]):
                    p["association_neg_elbo"] = 120 - 3 * t + seed
            runs.append(run)
    write(os.path.join(d, "results.json"), json.dumps({"protocol": {"tasks": 5}, "runs": runs}))
    write(os.path.join(d, "summary.csv"),
          "method,seed,class-IL ACC\n" + "".join(
              f"{r['method']},{r['seed']},0.{70 + i}\n" for i, r in enumerate(runs)))
    for method in ("er", "recollections"):
        write_gray_png(os.path.join(d, f"recollections_{method}_seed1.png"), 100, 40,
                       lambda x, y: (x * 5 + y * 3) % 256)
    return d


HEADINGS = {
    "split_mnist": ["Protocol", "Comparison", "Accuracy matrices", "Forgetting per task",
                    "Memory", "Loss and samples/s over iterations"],
    "curriculum": ["Protocol", "Comparison", "Accuracy matrices", "Forgetting per task",
                   "Memory", "Loss and samples/s over iterations"],
    "lifelong_vae": ["Protocol", "Comparison", "-ELBO after each distribution", "Images",
                     "Loss and samples/s over iterations"],
    "omniglot": ["Protocol", "Comparison", "Accuracy matrices", "Forgetting per task", "Memory",
                 "Loss and samples/s over iterations"],
    "arm": ["Protocol", "Comparison", "Accuracy matrices", "Forgetting per task", "Memory",
            "Loss and samples/s over iterations"],
    "distill": ["Protocol", "Comparison", "Distillation", "Memories", "Time"],
    "distillation": ["Protocol", "Comparison", "Distillation", "Memories", "Time"],
    "compression_sweep": ["Protocol", "Comparison", "Distortion against compression"],
    "compression_sweep_csv": ["Comparison", "Distortion against compression"],
    "curves": ["Protocol", "Comparison", "Accuracy matrices", "Forgetting per task", "Memory",
               "Association -ELBO per task", "Loss and samples/s over iterations",
               "Recollections"],
}


def main():
    if shutil.which("chromium") is None:
        print("chromium not found: skipped (install the Debian package chromium: make deps)")
        return 77
    if shutil.which("gnuplot") is None and not os.environ.get("ENGRAM_GNUPLOT"):
        print("gnuplot not found: skipped (install the Debian package gnuplot-nox)")
        return 77
    runs = {
        "split_mnist": copy_run("split_mnist_sleep_3seeds"),
        "curriculum": copy_run("curriculum_mnist_seed1"),
        "lifelong_vae": copy_run("lifelong_vae_f16_3seeds"),
        "omniglot": copy_run("omniglot_alphabets_3seeds"),
        "arm": copy_run("arm_mnist_5seeds"),
        "distillation": copy_run("distillation"),
        "distill": synthetic_distill(),
        "compression_sweep": synthetic_sweep(),
        "compression_sweep_csv": copy_sweep_csv(),
        "curves": synthetic_curves(),
    }
    for kind, run in runs.items():
        if run is None:
            fail(kind, "its docs/results directory is missing (a published experiment's "
                 "report inputs must stay in docs/results)")
            continue
        start = time.monotonic()
        r = subprocess.run([ENGRAM, "report", run], capture_output=True, text=True, timeout=300)
        took = time.monotonic() - start
        if r.returncode != 0:
            fail(kind, f"engram report exited {r.returncode}: {r.stdout}{r.stderr}")
            continue
        print(f"  {kind}: {r.stdout.splitlines()[0]} [{took:.2f} s]", flush=True)
        check_page(kind, os.path.join(run, "report.html"), HEADINGS[kind])
    if failures:
        print(f"{len(failures)} failures")
        return 1
    print("every report: sections, drawn plots, non-blank screenshot, no console message")
    return 0


if __name__ == "__main__":
    WORK = tempfile.mkdtemp(prefix="engram-chromium-")
    try:
        code = main()
    finally:
        if os.environ.get("ENGRAM_KEEP_CHROMIUM_WORK"):
            print("kept", WORK)
        else:
            shutil.rmtree(WORK, ignore_errors=True)
    sys.exit(code)
