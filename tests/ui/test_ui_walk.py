"""A new user's first hour in the Airflow web UI, in headless Chromium (Debian's `chromium` and
`chromium-driver`, driven by Selenium) on one local stack started from scratch:

log in; trigger `fn_dataset` from its form with the defaults, and the Asset chain runs
`fn_tune` and `fn_train` with no other action; the mapped `score` tasks show their config
labels; the train log shows the model id and the test metrics one per line; once scoring has
run, a backfill of `fn_monitor` started from the trigger dialog (Backfill, a date range)
succeeds; after `fn stack down` / `up` the bucket and Airflow's history are both still there
and the dataset's lineage verifies.

The stack's tuning defaults are shrunk with ``FN_TUNE_DEFAULTS`` (a deployment setting) so
the walk fits the test budget; the form itself is submitted untouched. Screenshots go to a
temporary folder, or to ``FN_UI_SCREENSHOTS`` when set (the README's images:
``FN_UI_SCREENSHOTS=docs/ui .venv/bin/python -m pytest tests/ui``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest

from fnlib import settings
from fnlib.local.airflow_api import AirflowClient
from fnlib.local.stack import Stack
from fnlib.storage import ObjectStore
from fnlib.storage.client import make_s3_client

pytestmark = pytest.mark.ui

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip("no browser: install Debian's chromium and chromium-driver "
                "(scripts/system-deps.sh, run by `make test` as root)", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHAIN_TIMEOUT = 1500  # seconds; a loaded 2-core machine is slow to start task processes
SMALL_TUNING = '{"models": ["nb", "logreg"], "variants": ["raw"], "grid": "small", "folds": 2}'
BACKFILL_DAYS = 2


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    env = {
        "FN_STACK_DIR": str(tmp_path_factory.mktemp("ui-stack")),
        "FN_BUCKET": f"fn-ui-{uuid.uuid4().hex[:8]}",
        "FN_API_PORT": "0",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "FN_TUNE_DEFAULTS": SMALL_TUNING,
    }
    with settings.scoped_environ(env):
        s = Stack.default()
        try:
            s.up(timeout=420)
            yield s
        finally:
            pids = [s.state().get("airflow_pid"), s.state().get("s3_pid")]
            s.down()
            groups = subprocess.run(["ps", "-eo", "pgid="], capture_output=True,
                                    text=True).stdout.split()
            assert not {str(p) for p in pids if p} & set(groups), "stack processes left behind"


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    target = os.environ.get("FN_UI_SCREENSHOTS")
    folder = Path(target) if target else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1280,860",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def api(stack):
    # patient: on a loaded machine the API server answers slowly while the stack warms up
    return AirflowClient(stack.api_url, "admin", stack.admin_password() or "", timeout=120)


@pytest.fixture(scope="module")
def walk() -> dict:
    """What the steps learn, for the later steps (they run in file order)."""
    return {}


def _wait(driver, timeout: float = 180) -> WebDriverWait:
    return WebDriverWait(driver, timeout, poll_frequency=0.5,
                         ignored_exceptions=(StaleElementReferenceException,))


def _shot(driver, folder: Path, name: str) -> None:
    """A small PNG (palette colours): screenshots are documentation, not photographs."""
    from PIL import Image

    raw = folder / f"{name}.raw.png"
    driver.save_screenshot(str(raw))
    with Image.open(raw) as image:
        image.convert("RGB").quantize(colors=48).save(folder / f"{name}.png", optimize=True)
    raw.unlink()


def _text(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def _open_trigger_dialog(driver, base: str, dag_id: str):
    driver.get(f"{base}/dags/{dag_id}")
    _wait(driver).until(EC.element_to_be_clickable(
        (By.CSS_SELECTOR, "[data-testid=trigger-dag-button]"))).click()
    return _wait(driver).until(EC.element_to_be_clickable(
        (By.CSS_SELECTOR, "[data-testid=trigger-dag-submit]")))


def _await_run(api: AirflowClient, dag_id: str, run_type: str, known: set[str]) -> dict:
    deadline = time.monotonic() + CHAIN_TIMEOUT
    while time.monotonic() < deadline:
        runs = [r for r in api.runs(dag_id)
                if r["run_type"] == run_type and r["dag_run_id"] not in known]
        if runs and runs[0]["state"] in ("success", "failed"):
            assert runs[0]["state"] == "success", f"{dag_id} {runs[0]['dag_run_id']} failed"
            return runs[0]
        time.sleep(2)
    raise AssertionError(f"no finished {run_type} run of {dag_id} after {CHAIN_TIMEOUT}s")


def test_log_in_and_trigger_the_chain_from_the_form(stack, browser, api, shots, walk):
    base = stack.api_url
    browser.get(f"{base}/auth/login")
    _wait(browser).until(EC.presence_of_element_located((By.NAME, "username"))).send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys(stack.admin_password())
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    _wait(browser).until(lambda d: "/auth/login" not in d.current_url)

    known = {d: {r["dag_run_id"] for r in api.runs(d)} for d in ("fn_tune", "fn_train")}
    submit = _open_trigger_dialog(browser, base, "fn_dataset")
    form = _text(browser)
    for field in ("Source", "Path", "Test fraction", "Share of the articles held out",
                  "Relative paths resolve against the data root"):
        assert field in form
    _shot(browser, shots, "trigger-form")
    submit.click()  # the defaults, as a new user would
    _wait(browser).until(lambda d: "/dags/fn_dataset/runs/" in d.current_url)
    run_id = urllib.parse.unquote(browser.current_url.rsplit("/runs/", 1)[1].split("/")[0])

    # nothing else is unpaused or triggered by hand: the Assets start tuning and training
    dataset_run = api.wait_for_run("fn_dataset", run_id, CHAIN_TIMEOUT)
    assert dataset_run["state"] == "success"
    walk["dataset"] = api.xcom("fn_dataset", run_id, "commit")
    walk["tune_run"] = _await_run(api, "fn_tune", "asset_triggered", known["fn_tune"])["dag_run_id"]
    walk["train_run"] = _await_run(api, "fn_train", "asset_triggered",
                                   known["fn_train"])["dag_run_id"]
    walk["trained"] = api.xcom("fn_train", walk["train_run"], "train")


def test_mapped_score_tasks_show_their_config_labels(stack, browser, api, shots, walk):
    run = urllib.parse.quote(walk["tune_run"], safe="")
    labels = sorted(ti["rendered_map_index"] for ti in api.task_instances("fn_tune", walk["tune_run"])
                    if ti["task_id"] == "score")
    assert len(labels) >= 2, labels
    assert all(re.search(r"^\d+/\d+ .+: .+ \(\d+ configs?\)$", label) for label in labels), labels
    browser.get(f"{stack.api_url}/dags/fn_tune/runs/{run}/tasks/score/mapped")
    _wait(browser).until(lambda d: all(label in _text(d) for label in labels))
    _shot(browser, shots, "mapped-tasks")


def test_train_log_shows_the_model_id_and_test_metrics(stack, browser, shots, walk):
    model_id = walk["trained"]["model_id"]
    run = urllib.parse.quote(walk["train_run"], safe="")
    browser.get(f"{stack.api_url}/dags/fn_train/runs/{run}/tasks/train")
    _wait(browser, 120).until(lambda d: f"model {model_id}: test metrics" in _text(d))
    text = _text(browser)
    f1 = walk["trained"]["test"]["f1"]
    assert re.search(rf"test f1\s+= {f1:.4f}", text), "test metrics are not on their own lines"
    for name in ("accuracy", "precision", "recall", "roc_auc"):
        assert f"test {name}" in text
    _shot(browser, shots, "train-log")


def test_backfill_of_monitoring_from_the_trigger_dialog(stack, browser, api, shots, walk):
    from fnlib.stages.simulate import simulate

    first = dt.date.today() - dt.timedelta(days=BACKFILL_DAYS + 2)
    last = first + dt.timedelta(days=BACKFILL_DAYS - 1)
    with settings.scoped_environ(stack.client_env()):
        store = ObjectStore(make_s3_client(stack.s3_url), settings.bucket())
        simulate(store, days=BACKFILL_DAYS, start_day=first.isoformat(), seed=1,
                 docs_per_day=60, drift_day=None, source="test")
    scored = api.trigger("fn_score", {})
    assert api.wait_for_run("fn_score", scored, CHAIN_TIMEOUT)["state"] == "success"
    assert api.xcom("fn_score", scored, "score")["scored"] == BACKFILL_DAYS * 60

    known = {r["dag_run_id"] for r in api.runs("fn_monitor")}
    _open_trigger_dialog(browser, stack.api_url, "fn_monitor")
    browser.find_element(By.XPATH, "//*[normalize-space(text())='Backfill']").click()
    for index, day in enumerate((first, last)):
        _pick_datetime(browser, index, day)
    _wait(browser).until(lambda d: f"{BACKFILL_DAYS} runs will be triggered" in _text(d))
    _shot(browser, shots, "backfill-dialog")
    browser.find_element(By.XPATH, "//button[normalize-space()='Run Backfill']").click()

    deadline = time.monotonic() + CHAIN_TIMEOUT
    while True:
        runs = [r for r in api.runs("fn_monitor")
                if r["dag_run_id"] not in known and r["run_type"] == "backfill"]
        if len(runs) == BACKFILL_DAYS and all(r["state"] in ("success", "failed") for r in runs):
            break
        assert time.monotonic() < deadline, f"backfill not finished: {runs}"
        time.sleep(2)
    assert [r["state"] for r in runs] == ["success"] * BACKFILL_DAYS
    days = sorted(r["logical_date"][:10] for r in runs)
    assert days == [first.isoformat(), last.isoformat()]
    with settings.scoped_environ(stack.client_env()):
        reports = store.list_keys("monitoring/")
    assert all(any(f"day={d}/report.json" in k for k in reports) for d in days), reports
    browser.get(f"{stack.api_url}/assets")
    _wait(browser).until(lambda d: "fn_tuning" in _text(d) and "fn_dataset" in _text(d))
    _shot(browser, shots, "assets")


def _pick_datetime(driver, index: int, day: dt.date) -> None:
    """Fill the index-th date-time picker of the dialog (its typed date and time fields)."""
    driver.find_elements(By.CSS_SELECTOR, "[data-testid=datetime-input]")[index].click()

    def visible(selector: str):
        found = [e for e in driver.find_elements(By.CSS_SELECTOR, selector) if e.is_displayed()]
        return found[0] if found else False

    date_field = _wait(driver).until(lambda d: visible("input[placeholder='YYYY/MM/DD']"))
    date_field.send_keys(Keys.CONTROL, "a")
    date_field.send_keys(day.strftime("%Y/%m/%d"))
    time_field = visible("input[placeholder='HH:mm']")
    time_field.send_keys(Keys.CONTROL, "a")
    time_field.send_keys("00:00")
    time_field.send_keys(Keys.ESCAPE)
    _wait(driver).until(lambda d: day.strftime("%b %d, %Y").replace(" 0", " ") in _text(d)
                        or day.strftime("%b %d, %Y") in _text(d))


def test_restart_keeps_the_bucket_and_the_history(stack, api, walk):
    dataset = walk["dataset"]
    before = _lineage(stack, dataset["dataset_id"])
    stack.down()
    stack.up(timeout=420)
    after = _lineage(stack, dataset["dataset_id"])
    assert after == before  # same manifests, object versions and checksums, all verified
    client = AirflowClient(stack.api_url, "admin", stack.admin_password() or "", timeout=120)
    assert walk["train_run"] in {r["dag_run_id"] for r in client.runs("fn_train")}
    from fnlib.registry import current_champion, load_model

    with settings.scoped_environ(stack.client_env()):
        store = ObjectStore(make_s3_client(stack.s3_url), settings.bucket())
        champion, _ = current_champion(store)
        assert champion is not None and champion.model_id == walk["trained"]["model_id"]
        assert load_model(store, champion.model) is not None  # checksum-verified


def _lineage(stack: Stack, dataset_id: str) -> str:
    done = subprocess.run([str(Path(sys.executable).parent / "fn"), "lineage", dataset_id],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **stack.client_env(), "FN_STACK_DIR": str(stack.dir)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert dataset_id in done.stdout and "versionId=" in done.stdout
    return done.stdout
