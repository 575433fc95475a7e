"""The main journeys in a real browser: build on the canvas, run, pass a challenge, reload, share.

Locators use Streamlit's data-testid attributes, accessible names, and React
Flow's classes inside the canvas's component iframe. Every wait is on
something visible (a node on the canvas, a figure, a message), with generous
timeouts; runs are small (tens of seconds simulated at about 100 rps).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

try:
    from playwright.sync_api import FrameLocator, Page, expect
except ImportError:  # pragma: no cover - CI installs it; elsewhere the tests skip
    if os.environ.get("CI"):
        raise
    pytest.skip("Playwright is not installed (pip install -e '.[test]')", allow_module_level=True)

RUN_TIMEOUT_MS = 90_000


# ── helpers ──────────────────────────────────────────────────────────────────

def settle(page: Page, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
    """Wait until Streamlit has finished rerunning the script (the 'Running...' indicator is gone)."""
    page.wait_for_timeout(600)  # the indicator appears only after a short delay
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidgetRunningIcon\"]')"
        " && !document.querySelector('[data-stale=\"true\"]')", timeout=timeout_ms)


def canvas(page: Page) -> FrameLocator:
    return page.frame_locator('iframe[title="streamlit_flow.streamlit_flow"]')


def open_app(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator('[data-testid="stSidebarNav"]')).to_be_visible(timeout=60_000)
    settle(page)


def go(page: Page, name: str, attempts: int = 3) -> None:
    """Open a page from the sidebar. A click can be superseded: when a component on the page being left
    sends its value at that moment (the canvas does so after it mounts, which on a loaded machine comes
    late), Streamlit reruns the old page instead, as it would for a person, who clicks again. So do we."""
    heading = page.locator("h1").filter(has_text=name)
    for attempt in range(1, attempts + 1):
        page.locator('[data-testid="stSidebarNav"] a').filter(has_text=name).click()
        try:
            expect(heading).to_be_visible(timeout=15_000)
            break
        except AssertionError:
            if attempt == attempts:
                raise
            settle(page)
    settle(page)


def add(page: Page, kind: str, count: int) -> None:
    """Add a component from the palette; it appears on the canvas."""
    page.get_by_role("button", name=kind).click()
    expect(canvas(page).locator(".react-flow__node")).to_have_count(count)
    settle(page)


def drag(page: Page, start: dict, end: dict, steps: int = 15) -> None:
    page.mouse.move(start["x"], start["y"])
    page.mouse.down()
    for k in range(1, steps + 1):
        page.mouse.move(start["x"] + (end["x"] - start["x"]) * k / steps,
                        start["y"] + (end["y"] - start["y"]) * k / steps)
        time.sleep(0.02)
    page.mouse.up()


def centre(box: dict) -> dict:
    return {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}


def connect(page: Page, source: str, target: str) -> None:
    """Drag from the source node's right handle to the target node's left handle."""
    flow = canvas(page)
    out = flow.locator(f'.react-flow__node[data-id="{source}"] .react-flow__handle.source')
    into = flow.locator(f'.react-flow__node[data-id="{target}"] .react-flow__handle.target')
    expect(out).to_be_visible()
    expect(into).to_be_visible()
    drag(page, centre(out.bounding_box()), centre(into.bounding_box()))


def node_position(page: Page, name: str) -> str:
    """The node's place in flow coordinates (React Flow's translate), independent of zoom."""
    return canvas(page).locator(f'.react-flow__node[data-id="{name}"]').evaluate("n => n.style.transform")


def figure(page: Page, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text(label, exact=True))
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


def number(text: str) -> float:
    return float(re.sub(r"[^0-9.\-]", "", text.replace(",", "")))


def open_popover(page: Page, name: str, inside: str) -> None:
    """Open a popover and wait for `inside` (a selector) in it; a rerun can close it, so try again."""
    target = page.locator(f'[data-testid="stPopoverBody"] {inside}')
    for attempt in range(4):
        settle(page)
        page.get_by_role("button", name=name).click()
        try:
            expect(target.first).to_be_visible(timeout=5_000)
            return
        except AssertionError:
            if attempt == 3:
                raise


def open_example(page: Page, server: str, title: str, node: str) -> None:
    """A new design from the example scenario titled `title`; wait for its node `node` on the canvas."""
    open_app(page, server)
    open_popover(page, "New", '[data-testid="stSelectbox"]')
    page.locator('[data-testid="stPopoverBody"] [data-testid="stSelectbox"]').click()
    page.get_by_role("option", name=title, exact=True).click()
    settle(page)
    page.get_by_role("button", name="Create").click()
    settle(page)
    expect(canvas(page).locator(f'.react-flow__node[data-id="{node}"]')).to_be_visible()


def shoot(page: Page, folder: Path, name: str, height: int = 1900) -> None:
    """A screenshot of the whole page (Streamlit scrolls inside, so the window is made tall)."""
    page.set_viewport_size({"width": 1400, "height": height})
    page.evaluate("() => { window.scrollTo(0, 0); document.querySelectorAll('*').forEach(e => {"
                  " if (e.scrollTop) e.scrollTop = 0; }); }")
    settle(page)
    page.wait_for_timeout(1500)  # charts and the canvas redraw at the new size
    page.screenshot(path=str(folder / f"{name}.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})


# ── journeys ─────────────────────────────────────────────────────────────────

def test_build_on_the_canvas_run_it_and_find_it_after_a_reload(page: Page, server: str, shots: Path) -> None:
    open_app(page, server)
    expect(page.get_by_text("Add a component from the palette above to start.")).to_be_visible()
    name = page.get_by_role("textbox", name="Design name")
    name.fill("Shop API")
    name.press("Tab")
    settle(page)
    add(page, "Service", 1)
    add(page, "Database", 2)

    db = canvas(page).locator('.react-flow__node[data-id="db"]')
    before = node_position(page, "db")
    box = db.bounding_box()
    drag(page, centre(box), {"x": centre(box)["x"], "y": centre(box)["y"] + 90})  # place it lower
    settle(page)
    placed = node_position(page, "db")
    assert placed != before

    connect(page, "service", "db")
    expect(canvas(page).locator(".react-flow__edge")).to_have_count(1)
    settle(page)
    expect(page.get_by_role("combobox", name="Call", exact=True)).to_have_value("1. service → db")  # in the form
    expect(page.get_by_text("Saturates at", exact=True)).to_be_visible()
    expect(page.locator('[data-testid="stMetricValue"]').filter(has_text="286 rps")).to_be_visible()
    shoot(page, shots, "build", height=1450)

    go(page, "Run and results")
    expect(page.get_by_text("Shop API")).to_be_visible()
    page.get_by_role("spinbutton", name="Rate (requests/s)", exact=True).fill("250")
    page.get_by_role("spinbutton", name="Duration (s)", exact=True).fill("30")
    page.get_by_role("button", name="Run simulation").click()
    expect(page.get_by_text("p99 latency", exact=True)).to_be_visible(timeout=RUN_TIMEOUT_MS)
    settle(page)
    p50, p99 = number(figure(page, "p50 latency")), number(figure(page, "p99 latency"))
    throughput = number(figure(page, "Throughput"))
    assert 0 < p50 <= p99 < 2000
    assert 220 < throughput < 280  # 250 rps offered, below the 286 rps the analysis predicts
    assert number(figure(page, "Error rate")) < 1
    expect(page.get_by_text("Bottleneck: service.")).to_be_visible()
    shoot(page, shots, "run", height=1550)
    page.get_by_role("tab", name="Architecture").click()
    expect(page.locator('[data-testid="stGraphVizChart"] svg')).to_contain_text("BOTTLENECK")
    shoot(page, shots, "run-diagram", height=1120)

    page.reload()  # a new session: the workspace in the address brings the work back
    expect(page.get_by_text("p99 latency", exact=True)).to_be_visible(timeout=RUN_TIMEOUT_MS)
    assert number(figure(page, "p99 latency")) == p99
    go(page, "Build")
    expect(canvas(page).locator(".react-flow__node")).to_have_count(2)
    expect(canvas(page).locator(".react-flow__edge")).to_have_count(1)
    assert node_position(page, "db") == placed


def test_pass_the_first_challenge(page: Page, server: str, shots: Path) -> None:
    open_app(page, server)
    go(page, "Challenges")
    expect(page.get_by_text("Our product page went viral")).to_be_visible()
    page.get_by_role("button", name="Open the starter design in the builder").click()
    expect(page.locator("h1").filter(has_text="Build")).to_be_visible()
    expect(canvas(page).locator(".react-flow__node")).to_have_count(2)
    settle(page)

    canvas(page).locator('.react-flow__node[data-id="web"]').click()  # choose the node to edit on the canvas
    settle(page)
    replicas = page.get_by_role("spinbutton", name="Replicas", exact=True)
    expect(replicas).to_have_value("1")
    replicas.fill("3")
    replicas.press("Tab")
    expect(canvas(page).locator('.react-flow__node[data-id="web"]')).to_contain_text("3 × 8 workers")
    settle(page)

    go(page, "Challenges")
    page.get_by_role("spinbutton", name="How many web replicas do you need?").fill("3")
    page.get_by_role("spinbutton", name="What p99 do you expect, in ms?").fill("120")
    page.get_by_role("button", name="Grade my design").click()
    expect(page.get_by_text("Passed", exact=False).first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    settle(page)
    expect(page.get_by_text("The lesson", exact=True)).to_be_visible()   # the heading, not the (hidden) toggle
    expect(page.get_by_text(re.compile(r"1 of \d+ passed"))).to_be_visible()  # the campaign shows the progress
    expect(page.get_by_text(re.compile(r"^★+☆* passed$"))).to_be_visible()
    shoot(page, shots, "challenges", height=2450)


def test_an_example_with_request_classes_shows_each_class(page: Page, server: str, shots: Path) -> None:
    open_example(page, server, "Priority checkout", "api")
    go(page, "Run and results")
    expect(page.get_by_text("Priority checkout")).to_be_visible()
    page.get_by_role("button", name="Run simulation").click()
    expect(page.get_by_text("checkout · p99 latency", exact=True)).to_be_visible(timeout=RUN_TIMEOUT_MS)
    settle(page)
    # priority and shedding keep checkout within its 500 ms SLO while browse is shed (the file's own lesson)
    assert number(figure(page, "checkout · p99 latency")) < 500
    assert number(figure(page, "checkout · lost")) == 0
    assert number(figure(page, "browse · lost")) > 5
    expect(page.get_by_text("p99 latency per class")).to_be_visible()
    expect(page.get_by_text("Error budget burn rate per class")).to_be_visible()
    shoot(page, shots, "classes", height=2300)


def test_an_example_with_a_hot_shard_shows_the_keys_tab(page: Page, server: str, shots: Path) -> None:
    open_example(page, server, "Hot shard", "db")
    go(page, "Run and results")
    page.get_by_role("button", name="Run simulation").click()
    expect(page.get_by_text("Shard 0 of db is", exact=False).first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    settle(page)
    page.get_by_role("tab", name="Keys").click()
    expect(page.get_by_text("busy share per shard", exact=False)).to_be_visible()
    shoot(page, shots, "keys", height=1700)


def run_and_open(page: Page, tab: str) -> None:
    """Run the design on the Run page and open the results tab `tab` once the run is done."""
    go(page, "Run and results")
    page.get_by_role("button", name="Run simulation").click()
    expect(page.get_by_role("tab", name=tab)).to_be_visible(timeout=RUN_TIMEOUT_MS)
    settle(page)
    page.get_by_role("tab", name=tab).click()


def test_the_multi_zone_example_shows_the_zones_tab(page: Page, server: str, shots: Path) -> None:
    open_example(page, server, "Multi-zone web app", "web")
    run_and_open(page, "Zones")
    expect(page.get_by_text("Availability over time", exact=False)).to_be_visible()
    expect(page.get_by_text("Zone outages", exact=False)).to_be_visible()
    shoot(page, shots, "zones", height=1700)


def test_the_clickstream_example_shows_the_pipelines_tab(page: Page, server: str, shots: Path) -> None:
    open_example(page, server, "Clickstream pipeline", "clicks")
    run_and_open(page, "Pipelines")
    expect(page.get_by_text("Lag over time", exact=False)).to_be_visible()
    expect(page.get_by_text("etl: each partition", exact=False)).to_be_visible()
    shoot(page, shots, "pipelines", height=1800)


def test_sensitivity_draws_a_tornado_of_the_settings(page: Page, server: str, shots: Path) -> None:
    open_example(page, server, "Hot shard", "db")
    go(page, "Experiments")
    page.get_by_role("button", name="Rank the settings").click()
    expect(page.get_by_text("Most effective on p99", exact=False)).to_be_visible(timeout=RUN_TIMEOUT_MS)
    settle(page)
    expect(page.locator('[data-testid="stVegaLiteChart"]').last).to_be_visible()
    shoot(page, shots, "sensitivity", height=2600)


def test_an_invalid_upload_is_refused_and_a_share_link_reproduces_the_design(
        page: Page, server: str, tmp_path: Path) -> None:
    open_app(page, server)
    add(page, "Service", 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nworkload: {entry: web, rate_rps: 10, duration_s: 10}\n"
                   "nodes: {web: {kind: service, workers: 0, service_time: {dist: constant, mean_ms: 5}}}\n")
    open_popover(page, "Import", '[data-testid="stFileUploaderDropzone"]')
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(bad))
    message = page.locator('[data-testid="stAlert"]').filter(has_text="was refused; your design is unchanged")
    expect(message).to_be_visible()
    expect(message).to_contain_text("nodes.web.workers")
    page.locator("h1").filter(has_text="Build").click()  # close the popover
    expect(page.locator('[data-testid="stFileUploaderDropzoneInput"]')).to_have_count(0)
    expect(canvas(page).locator(".react-flow__node")).to_have_count(1)
    expect(canvas(page).locator('.react-flow__node[data-id="service"]')).to_be_visible()

    open_popover(page, "Share", '[data-testid="stCode"]')
    code = page.locator('[data-testid="stPopoverBody"] [data-testid="stCode"]')
    expect(code).to_contain_text("?design=")
    link = code.inner_text().strip()
    assert link.startswith(server) and "w=" not in link
    other = page.context.browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    try:
        open_app(other, link)
        expect(other.get_by_text("Opened the shared design")).to_be_visible()
        expect(canvas(other).locator('.react-flow__node[data-id="service"]')).to_be_visible()
        assert "w=" in other.evaluate("() => window.location.href")
    finally:
        other.context.close()


KNOWN = """
name: Shop as measured
workload: {entry: lb, rate_rps: 120, duration_s: 20, warmup_s: 2}
nodes:
  lb: {kind: load_balancer}
  api: {kind: service, replicas: 2, workers: 8, service_time: {dist: lognormal, mean_ms: 12, p99_ms: 60}}
  cache: {kind: cache, hit_ratio: 0.7, workers: 32, service_time: {dist: constant, mean_ms: 1}}
  db: {kind: database, workers: 16, service_time: {dist: exponential, mean_ms: 20}}
edges:
  - {from: lb, to: api}
  - {from: api, to: cache}
  - {from: cache, to: db, when: miss}
"""


def test_a_trace_file_calibrates_the_design(page: Page, server: str, tmp_path: Path, shots: Path) -> None:
    """Import a design with guessed numbers, then its system's traces (OTLP JSON): the fitted design replaces
    it, and the message sets the traces beside the calibrated model."""
    import io

    from sandbox.cli import main
    known = tmp_path / "known.yaml"
    known.write_text(KNOWN, encoding="utf-8")
    traces = tmp_path / "shop-traces.json"
    assert main(["run", str(known), "--traces", str(traces), "--trace-count", "300"], out=io.StringIO()) == 0
    assert traces.stat().st_size < 512 * 1024
    guess = tmp_path / "guess.yaml"
    guess.write_text(KNOWN.replace("name: Shop as measured", "name: Shop").replace("rate_rps: 120", "rate_rps: 10")
                     .replace("mean_ms: 20}", "mean_ms: 2}").replace("hit_ratio: 0.7", "hit_ratio: 0.3"),
                     encoding="utf-8")
    open_app(page, server)
    open_popover(page, "Import", '[data-testid="stFileUploaderDropzone"]')
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(guess))
    expect(page.get_by_text("Imported guess.yaml")).to_be_visible(timeout=30_000)
    expect(canvas(page).locator(".react-flow__node")).to_have_count(4)
    settle(page)
    open_popover(page, "Import", '[data-testid="stFileUploaderDropzone"]')
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').nth(1).set_input_files(str(traces))
    message = page.locator('[data-testid="stAlert"]').filter(has_text="Calibrated from shop-traces.json")
    expect(message).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(message).to_contain_text("300 traces")
    expect(page.get_by_text("Traces beside the calibrated model", exact=False)).to_be_visible()
    expect(page.get_by_text("Service times (own time per call)", exact=False)).to_be_visible()
    # the fit and the check as three tables, beside the page's own (the analysis table)
    assert page.locator('[data-testid="stDataFrame"]').count() >= 4
    page.locator("h1").filter(has_text="Build").click()  # close the popover
    settle(page)
    page.get_by_text("YAML", exact=True).click()
    box = page.locator('[data-testid="stTextArea"] textarea')
    expect(box).to_contain_text("rate_rps: 1")       # 10 rps became the measured ~120
    assert "rate_rps: 10\n" not in box.input_value()
    shoot(page, shots, "calibrate", height=1500)
