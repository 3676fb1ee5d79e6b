"""salivaprot report: one self-contained HTML file, checked as text and in a real browser."""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from salivaprot.io.results_folder import read_results_folder
from salivaprot.report import methods_text

from .conftest import CHROMIUM, full_disk, no_write_permission
from .figure_fixtures import make_results, run, without_column


@pytest.fixture(scope="session")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    results = make_results(root)
    out = root / "report.html"
    code, stdout, err = run("report", str(results), "--out", str(out))
    assert code == 0, err
    assert f"report -> {out}" in stdout
    return out


def test_report_is_self_contained(report_file: Path) -> None:
    text = report_file.read_text(encoding="utf-8")
    sources = re.findall(r'\bsrc="([^"]*)"', text)
    assert len(sources) >= 10 and all(s.startswith("data:image/svg+xml;base64,") for s in sources)
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", text)  # nothing fetched
    assert "<link" not in text and "@import" not in text
    assert "default-src 'none'" in text  # the browser may not fetch anything either


def test_report_methods_come_from_run_json(report_file: Path) -> None:
    text = report_file.read_text(encoding="utf-8")
    results = report_file.parent / "diff"
    record = json.loads((results / "run.json").read_text())
    model = record["model"]
    paragraph = methods_text(record, read_results_folder(results))
    assert f"salivaprot {record['versions']['salivaprot']}" in paragraph
    assert f"numpy {record['versions']['numpy']}" in paragraph
    assert f"{model['n_tested']} of {model['n_proteins']} proteins were tested" in paragraph
    assert f"consensus within-subject correlation {model['consensus_correlation']:.3g}" in paragraph
    assert f"prior degrees of freedom {model['df_prior']:.3g}" in paragraph
    assert "aMSC_vs_placebo_change_month4" in paragraph and "Benjamini-Hochberg" in paragraph
    assert "normalize(method='median')" in paragraph
    assert "reference placebo" in paragraph
    assert (
        "visits in trial order (baseline, month1, month4; the first is the baseline)" in paragraph
    )
    import html

    assert html.escape(paragraph) in text


def test_report_has_a_sortable_table_per_contrast(report_file: Path) -> None:
    text = report_file.read_text(encoding="utf-8")
    contrasts = json.loads((report_file.parent / "diff" / "run.json").read_text())["model"][
        "contrasts"
    ]
    assert text.count('<table class="sortable">') == len(contrasts)
    for contrast in contrasts:
        assert f"<h3>{contrast}</h3>" in text
    assert 'id="qc"' in text and "Sample flow" in text and "No run QC table (qc.tsv)" in text


def test_report_is_deterministic(report_file: Path, tmp_path: Path) -> None:
    code, _, err = run(
        "report", str(report_file.parent / "diff"), "--out", str(tmp_path / "r.html")
    )
    assert code == 0, err
    assert (tmp_path / "r.html").read_bytes() == report_file.read_bytes()


def test_report_refuses_a_foreign_folder(report_file: Path, tmp_path: Path) -> None:
    folder = without_column(report_file.parent / "diff", tmp_path / "foreign", "pvalue")
    code, _, err = run("report", str(folder), "--out", str(tmp_path / "r.html"))
    assert code == 1 and "missing column pvalue" in err and "Traceback" not in err
    assert not (tmp_path / "r.html").exists()
    code, _, err = run("report", str(report_file.parent / "diff"), "--out", str(tmp_path))
    assert code == 2 and "is a directory" in err


def test_report_never_writes_over_its_inputs_or_an_existing_file(
    report_file: Path, tmp_path: Path
) -> None:
    import shutil

    results = tmp_path / "diff"
    shutil.copytree(report_file.parent / "diff", results)
    before = {p.name: p.read_bytes() for p in results.iterdir()}
    qc = tmp_path / "qc.tsv"
    qc.write_bytes((results / "samples.tsv").read_bytes())  # (any file: refused before reading)
    for out, message in (
        (results / "results.tsv", "is inside the results folder"),
        (results / "new.html", "is inside the results folder"),
        (qc, "is the run QC table"),
    ):
        code, _, err = run("report", str(results), "--out", str(out), "--qc", str(qc), "--force")
        assert code == 1 and message in err and "Traceback" not in err, err
    assert {p.name: p.read_bytes() for p in results.iterdir()} == before
    existing = tmp_path / "old.html"
    existing.write_text("an earlier report")
    code, _, err = run("report", str(results), "--out", str(existing))
    assert code == 1 and "exists; add --force" in err
    assert existing.read_text() == "an earlier report"
    code, _, err = run("report", str(results), "--out", str(existing), "--force")
    assert code == 0, err
    assert existing.read_bytes() == report_file.read_bytes()


def test_a_full_disk_names_the_report_or_the_figures_folder(
    report_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "error: No space left on device" named neither
    results = report_file.parent / "diff"
    with monkeypatch.context() as patch:
        full_disk(patch)
        out = tmp_path / "r.html"
        code, _, err = run("report", str(results), "--out", str(out))
    assert code == 1 and err == f"error: {out}: No space left on device\n", err
    with monkeypatch.context() as patch:

        def no_space(_path: Path, _data: bytes) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        patch.setattr(Path, "write_bytes", no_space)
        out = tmp_path / "figs"
        code, _, err = run("figures", str(results), "--out", str(out), "--format", "png")
    assert code == 1 and err == f"error: {out}: No space left on device\n", err
    assert list(tmp_path.iterdir()) == []


def test_report_out_where_it_cannot_be_written_is_refused_before_the_build(
    report_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # it said "error: afile: File exists", or named the temporary file after the build
    results = report_file.parent / "diff"
    with monkeypatch.context() as patch:

        def no_build(*_args: object, **_kwargs: object) -> None:
            raise AssertionError("the report was built before --out was checked")

        patch.setattr("salivaprot.io.results_folder.read_results_folder", no_build)
        afile = tmp_path / "afile"
        afile.write_text("mine")
        for out in (afile / "r.html", afile / "sub" / "r.html"):
            code, _, err = run("report", str(results), "--out", str(out))
            assert code == 1, err
            assert err == f"error: --out {out} cannot be created: {afile} is a file, not a folder\n"
        assert afile.read_text() == "mine"
        # a folder that cannot be written
        readonly = tmp_path / "ro"
        readonly.mkdir()
        no_write_permission(patch, readonly)
        out = readonly / "r.html"
        code, _, err = run("report", str(results), "--out", str(out))
        assert code == 1, err
        said = f"error: --out {out} cannot be written: no permission to write in {readonly}\n"
        assert err == said
    # the check passed but the file could not be made (an immutable folder, say): still
    # named as --out, never as the temporary file beside it
    with monkeypatch.context() as patch:

        def immutable(*_args: object, dir: str, **_kwargs: object) -> None:
            raise PermissionError(errno.EPERM, "Operation not permitted", f"{dir}/.r.html.x1.tmp")

        patch.setattr("salivaprot.io._files.tempfile.mkstemp", immutable)
        code, _, err = run("report", str(results), "--out", str(out))
    assert code == 1 and err == f"error: {out}: Operation not permitted\n", err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "ro"]
    assert list(readonly.iterdir()) == []


@pytest.mark.parametrize(
    "edit",
    [
        "repeated sample",
        "text count",
        "contrasts not a list",
        "parameters",
        "model",
        "model.design",
        "versions",
        "inputs",
        "steps",
        "p-value above 1",
        "a result row twice",
        "a matrix row twice",
    ],
)
def test_an_edited_results_folder_is_named_not_an_internal_error(
    report_file: Path, tmp_path: Path, edit: str
) -> None:
    import shutil

    folder = tmp_path / "diff"
    shutil.copytree(report_file.parent / "diff", folder)
    if edit == "repeated sample":
        lines = (folder / "samples.tsv").read_text().splitlines(keepends=True)
        (folder / "samples.tsv").write_text("".join([*lines, lines[1]]))
        said = "samples.tsv: sample_id"
    elif edit == "text count":
        (folder / "sample_flow.tsv").write_text("step\tcount\nrandomised\tn/a\n")
        said = "sample_flow.tsv, column 'count': expected whole numbers"
    elif edit in ("p-value above 1", "a result row twice"):
        # numbers no test gives, a protein and contrast twice: they were drawn
        lines = (folder / "results.tsv").read_text().splitlines(keepends=True)
        header = lines[0].rstrip("\n").split("\t")
        if edit == "p-value above 1":
            cells = lines[3].rstrip("\n").split("\t")
            cells[header.index("pvalue")] = "1.5"
            lines[3] = "\t".join(cells) + "\n"
            said = "results.tsv: column 'pvalue': 1.5 on line(s) 4; expected a p-value"
        else:
            lines.append(lines[5])
            said = "have more than one row (lines 6, "
        (folder / "results.tsv").write_text("".join(lines))
        (folder / "results.parquet").unlink(missing_ok=True)
    elif edit == "a matrix row twice":
        lines = (folder / "matrix.tsv").read_text().splitlines(keepends=True)
        (folder / "matrix.tsv").write_text("".join([*lines, lines[1]]))
        protein = lines[1].split("\t")[0]
        said = f"matrix.tsv: protein(s) {protein} with more than one row"
    elif edit == "contrasts not a list":
        record = json.loads((folder / "run.json").read_text())
        record["model"]["contrasts"] = 5
        (folder / "run.json").write_text(json.dumps(record))
        said = "run.json: model.contrasts: expected a list"
    else:  # a part of another shape: it was an internal error (a list has no .get)
        record = json.loads((folder / "run.json").read_text())
        *parents, key = edit.split(".")
        holder = record
        for parent in parents:
            holder = holder[parent]
        holder[key] = "x" if isinstance(holder[key], dict | list) and key != "steps" else {}
        (folder / "run.json").write_text(json.dumps(record))
        said = f"run.json: {edit}: expected"
    for command in ("report", "figures"):
        out = tmp_path / ("r.html" if command == "report" else "figs")
        code, _, err = run(command, str(folder), "--out", str(out))
        assert code == 1 and said in err and "internal error" not in err, err
        assert not out.exists()


def test_a_missing_qc_table_is_named_not_the_results_folder(
    report_file: Path, tmp_path: Path
) -> None:
    # "--qc nonexist.tsv" was reported as "the results folder has no nonexist.tsv"
    folder = report_file.parent / "diff"
    for command, out in (("report", tmp_path / "r.html"), ("figures", tmp_path / "figs")):
        code, _, err = run(command, str(folder), "--out", str(out), "--qc", str(tmp_path / "x.tsv"))
        assert code == 1 and "x.tsv: QC table not found" in err and "results folder" not in err
        code, _, err = run(command, str(folder), "--out", str(out), "--qc", "/dev/zero")
        assert code == 1 and "/dev/zero: the QC table is not a regular file" in err, err
        # a table that is not run QC (results.tsv given by mistake) is named, not drawn
        results = str(folder / "results.tsv")
        code, _, err = run(command, str(folder), "--out", str(out), "--qc", results)
        assert code == 1 and "missing columns run, tic_total, n_ms2" in err, err
        assert "rerun 'salivaprot qc'" in err and not out.exists()


# ----------------------------------------------------------------------------- in a browser


def chromium() -> str:
    """The chromium executable (tests using it are marked ``browser``, see conftest)."""
    if CHROMIUM is None:
        pytest.fail("chromium is required in CI (.ci/run installs it) but was not found")
    return CHROMIUM


def browser(executable: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [executable, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=15000", *args],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


@pytest.mark.browser
def test_report_renders_in_chromium(report_file: Path, tmp_path: Path) -> None:
    """Opened in headless Chromium: the script runs, every image decodes, nothing is
    logged to the console (the report logs nothing, so any console line is an error),
    and a screenshot is written into the test's folder."""
    executable = chromium()
    url = report_file.resolve().as_uri()
    done = browser(executable, tmp_path / "profile", "--dump-dom", url)
    assert done.returncode == 0, done.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", done.stdout)
    assert body, done.stdout[:500]
    attributes = dict(re.findall(r'([\w-]+)="([^"]*)"', body.group(1)))
    assert attributes.get("data-status") == "ready", attributes
    images = int(attributes["data-images"])
    assert images == report_file.read_text().count("<img ") and images >= 10
    assert attributes["data-broken-images"] == "0"
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    assert "<table" in done.stdout  # rendered from the file

    screenshot = tmp_path / "report.png"
    done = browser(executable, tmp_path / "profile2", f"--screenshot={screenshot}",
                   "--window-size=1280,2400", "--hide-scrollbars", url)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    from matplotlib.image import imread

    pixels = imread(screenshot)
    assert pixels.shape[:2] == (2400, 1280)
    assert float(pixels[..., :3].std()) > 0.05  # not a blank page
    print(f"screenshot: {screenshot}")


@pytest.mark.browser
def test_sorting_script_sorts_numbers_as_numbers(report_file: Path, tmp_path: Path) -> None:
    """Click the padj header twice in the browser: the order follows the numbers."""
    executable = chromium()
    page = tmp_path / "sorted.html"
    click = (
        "<script>window.addEventListener('load', function () {"
        "var table = document.querySelector('table.sortable');"
        "var headers = table.tHead.rows[0].cells; var last = headers[headers.length - 1];"
        "last.click(); last.click();"  # descending
        "var values = Array.prototype.map.call(table.tBodies[0].rows, function (r) {"
        "return parseFloat(r.cells[r.cells.length - 1].getAttribute('data-value')); });"
        "document.body.setAttribute('data-sorted', JSON.stringify(values)); });</script>"
    )
    page.write_text(report_file.read_text().replace("</body>", click + "</body>"))
    done = browser(executable, tmp_path / "profile", "--dump-dom", page.resolve().as_uri())
    found = re.search(r'data-sorted="([^"]*)"', done.stdout)
    assert found, done.stderr[-2000:]
    values = json.loads(found.group(1).replace("&quot;", '"'))
    assert len(values) > 2 and values == sorted(values, reverse=True)


def test_demo_runs_the_whole_path_and_says_where_the_report_is(tmp_path: Path) -> None:
    import time

    from .conftest import TEST_DATA

    start = time.perf_counter()
    code, out, err = run("--quiet", "demo", "--data", str(TEST_DATA), "--out", str(tmp_path))
    elapsed = time.perf_counter() - start
    assert code == 0, err
    assert f"report: {tmp_path / 'report.html'}" in out
    assert (tmp_path / "figures" / "volcano_aMSC_vs_placebo_change_month4.pdf").exists()
    assert (tmp_path / "diff" / "matrix_before_normalization.tsv").exists()
    text = (tmp_path / "report.html").read_text()
    assert "consensus within-subject correlation" in text
    assert elapsed < 60  # 9-13 s here (target: under 15 s); loose against slow CI machines


IMAGES_DECODED = "Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length"


@pytest.mark.browser
def test_report_in_chromium_over_devtools(report_file: Path, tmp_path: Path) -> None:
    """The same checks from outside the page, through the DevTools protocol: no console
    error or warning, no uncaught exception, no error log entry, every image decoded."""
    from .cdp import Browser

    executable = chromium()
    with Browser(executable, tmp_path / "profile") as browser:
        browser.open(report_file.resolve().as_uri())
        n_images = report_file.read_text().count("<img ")
        assert browser.evaluate("document.images.length") == n_images
        assert browser.evaluate(IMAGES_DECODED) == n_images
        assert browser.evaluate("document.body.getAttribute('data-status')") == "ready"
        assert browser.evaluate("document.querySelectorAll('table.sortable').length") >= 5
        width = browser.evaluate(
            "document.querySelector('figure img').getBoundingClientRect().width"
        )
        assert width > 300  # drawn at a readable size
        screenshot = browser.screenshot(tmp_path / "report-devtools.png")
        assert browser.problems() == []
    assert screenshot.read_bytes().startswith(b"\x89PNG")


@pytest.mark.browser
def test_devtools_checks_catch_a_broken_page(tmp_path: Path) -> None:
    """A control: a page with a broken image, a console error and an exception fails them."""
    from .cdp import Browser

    executable = chromium()
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><body><img src="data:image/png;base64,AAAA">'
        "<script>console.error('boom'); missingFunction();</script></body></html>"
    )
    with Browser(executable, tmp_path / "profile") as browser:
        browser.open(page.resolve().as_uri())
        assert browser.evaluate(IMAGES_DECODED) == 0
        problems = browser.problems()
    assert any("boom" in p for p in problems)
    assert any("missingFunction" in p for p in problems)
