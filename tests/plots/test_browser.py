"""The HTML report checked in a real browser: headless Chromium loads it offline and finds every
figure decoded, the headline figure in the first screen and no console errors; for the report of
`featlearn reproduce` (synthetic records) and for that of a user's own sweep.

Chromium is Debian's package, installed by ``scripts/setup-chromium.sh`` (CI runs it); where it is
absent the tests are skipped with that reason. The page is loaded from a copy with a probe script
injected at the top of <head>: it records errors (script errors, failed loads, console.error) and,
on ``load``, each <img>'s natural size and position and every network resource the page fetched.
The browser runs behind a dead proxy, so a page that needs the network would also fail to load it.
A deliberately broken page checks that the probe catches each kind of fault.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from featlearn.experiments import Experiment
from featlearn.plots import write_report
from featlearn.reproduce import reproduce
from featlearn.runtime import parse_spec, run_sweep

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed; run scripts/setup-chromium.sh as root (CI does)",
)
WINDOW = (1280, 900)

PROBE = """<script>
window.__errors = [];
window.addEventListener("unhandledrejection", (e) => window.__errors.push(String(e.reason)));
window.addEventListener("error", (e) => {
  const where = e.target && e.target.tagName ? e.target.tagName + " failed to load" : "";
  window.__errors.push(String(e.message || where || e.type));
}, true);
const __consoleError = console.error;
console.error = (...args) => { window.__errors.push(args.join(" ")); __consoleError(...args); };
window.addEventListener("load", () => {
  const images = Array.from(document.images).map((img) => {
    const box = img.getBoundingClientRect();
    return {alt: img.alt, id: img.id, complete: img.complete, width: img.naturalWidth,
            height: img.naturalHeight, top: box.top + window.scrollY, shown: box.height};
  });
  const probe = document.createElement("pre");
  probe.id = "__probe";
  probe.textContent = JSON.stringify({
    images, errors: window.__errors, viewport: window.innerHeight,
    resources: performance.getEntriesByType("resource").map((r) => r.name),
  });
  document.body.appendChild(probe);
});
</script>"""


def _chromium(*args: str) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
           f"--window-size={WINDOW[0]},{WINDOW[1]}", "--proxy-server=127.0.0.1:9",
           "--enable-logging=stderr", "--log-level=0", *args]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


def render(page: Path, work: Path) -> dict:
    """Load ``page`` in headless Chromium; return the probe's findings plus console lines."""
    text = page.read_text(encoding="utf-8")
    probed = work / f"probed-{page.name}"
    probed.write_text(re.sub(r"<head>", "<head>" + PROBE, text, count=1), encoding="utf-8")
    run = _chromium("--virtual-time-budget=10000", "--dump-dom", probed.as_uri())
    found = re.search(r'<pre id="__probe">(.*?)</pre>', run.stdout, re.S)
    assert found, f"the page never fired 'load' in {run.args}:\n{run.stderr[-2000:]}"
    result = json.loads(html.unescape(found.group(1)))
    # every console message, as Chromium logs it (at INFO, whatever its level): the report runs no
    # script of its own, so any message is the browser complaining about the page
    result["console"] = [ln for ln in run.stderr.splitlines() if ":CONSOLE" in ln]
    return result


def external_links(text: str) -> list[str]:
    """src/href/url() targets that would reach the network (anything but data:, #, relative)."""
    targets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", text, re.I)
    targets += re.findall(r"""url\(\s*["']?([^"')]*)""", text, re.I)
    return [t for t in targets if re.match(r"\s*(https?:|//|ftp:|ws:)", t, re.I)]


def _synthetic_fit(cfg, *, seed):
    """Risks that follow the theory (network flat at n = 8 d^2, kernel climbing to 0.5)."""
    d, n = cfg["d"], cfg["n"]
    if cfg["learner"] == "layerwise":
        risk = 0.2 * (4 * d**2 / n) ** 0.8 * (1 + 0.01 * cfg["pair_seed"])
    else:
        risk = 0.5 / (1 + 2 * n / d**3) * (1 + 0.01 * cfg["pair_seed"])
    return {"relative_risk": risk, "lambda": 1e-5, "n_fit": round(0.8 * n), "alignment": None,
            "energy_per_degree": [0.0, 0.0, 0.5, 0.5], "learned_fraction": [None, None, 1.0, 0.9]}  # fmt: skip


SPEC = """
name = "reproduce-separation"
experiment = "fit"
replicates = 1
[base]
target = "dls-r2p3"
noise = 0.0
width = 32
[cases.network]
learner = "layerwise"
[cases.network.grid]
d = [8, 16, 32]
n = { values = [8], times = "d^2", integer = true }
pair_seed = [0, 1, 2]
[cases.kernel]
learner = "kernel-ridge"
options = { kernel = "ntk" }
[cases.kernel.grid]
d = [8, 16, 32]
n = { values = [8], times = "d^2", integer = true }
pair_seed = [0, 1, 2]
"""


def _reproduce_report(work: Path) -> Path:
    """A `reproduce` report of a small synthetic separation sweep (the real plotting code)."""
    spec = work / "reproduce-separation.toml"
    spec.write_text(SPEC)
    registry = {"fit": Experiment("fit", lambda data, source="": dict(data), _synthetic_fit)}
    reproduce(store=work / "store.db", out=work / "report", specs=(spec,), registry=registry,
              progress="quiet")  # fmt: skip
    return work / "report" / "index.html"


def _user_sweep_report(work: Path) -> Path:
    """`featlearn report` of a user's sweep: two learners' risk curves (the runtime's toy)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))
    from runtime_toy import CURVE

    spec = parse_spec({"experiment": "curve", "replicates": 3,
                       "grid": {"d": [4, 8, 16], "n": {"geomspace": [0.5, 200], "num": 9,
                                                       "times": "d^2", "integer": True}},
                       "cases": {"fast": {"learner": "fast", "k": 2.0},
                                 "slow": {"learner": "slow", "k": 3.0}}})  # fmt: skip
    run_sweep(spec, work / "sweep.db", progress="quiet", registry={"curve": CURVE})
    write_report(work / "sweep.db", work / "report", eps=0.1)
    return work / "report" / "index.html"


# report kind -> (how to build it, what its headline figure's alt or id is; None: the first figure)
REPORTS = {"reproduce": (_reproduce_report, "separation"), "user-sweep": (_user_sweep_report, None)}


@pytest.fixture(scope="module", params=sorted(REPORTS))
def report(request, tmp_path_factory) -> tuple[str, Path]:
    build, _ = REPORTS[request.param]
    return request.param, build(tmp_path_factory.mktemp(request.param))


@pytest.fixture(scope="module")
def rendered(report) -> dict:
    _, page = report
    return render(page, page.parent)


def test_every_figure_decodes(rendered, report):
    images = rendered["images"]
    assert len(images) >= 1
    broken = [i for i in images if not (i["complete"] and i["width"] > 0 and i["height"] > 0)]
    assert not broken, broken
    assert len(images) == report[1].read_text().count("<img")


def test_headline_figure_is_in_the_first_screen(rendered, report):
    name = REPORTS[report[0]][1]
    images = rendered["images"]
    headline = [i for i in images if name in (i["alt"], i["id"])] if name else images[:1]
    assert headline, f"no <img> with alt or id {name!r} among {images}"
    top, viewport = headline[0]["top"], rendered["viewport"]
    # it starts within the first screen and at least a third of it shows there
    assert top + headline[0]["shown"] / 3 <= viewport, (top, headline[0]["shown"], viewport)


def test_no_console_errors(rendered):
    assert rendered["errors"] == [] and rendered["console"] == []


def test_works_offline(rendered, report):
    assert rendered["resources"] == []  # everything is inline (data: URIs are not fetched)
    assert external_links(report[1].read_text()) == []


def test_screenshot_of_the_first_screen(report, tmp_path):
    shot = tmp_path / "first-screen.png"
    _chromium(f"--screenshot={shot}", report[1].as_uri())
    head = shot.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")) == WINDOW


BROKEN = """<!doctype html><html><head><title>broken</title></head><body>
<p style="height: 2000px">tall text</p>
<img alt="separation" src="data:image/png;base64,AAAA">
<img alt="remote" src="http://example.invalid/figure.png">
<script>console.error("something went wrong");</script>
</body></html>"""


def test_the_probe_catches_each_fault(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(BROKEN)
    found = render(page, tmp_path)
    assert [i["width"] for i in found["images"]] == [0, 0]  # neither decodes
    assert found["images"][0]["top"] > found["viewport"]  # below the first screen
    assert "something went wrong" in found["errors"]
    assert any("something went wrong" in line for line in found["console"])
    assert any("IMG failed to load" in e for e in found["errors"])
    assert external_links(BROKEN) == ["http://example.invalid/figure.png"]
    assert any("example.invalid" in r for r in found["resources"])
