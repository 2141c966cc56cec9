"""The retrain sensor's deferrable path, as the triggerer runs it, against the moto S3 server.

``fn_retrain`` waits in ``wait_for_request``: a first check on the worker, then a deferral to
the triggerer, which runs the trigger's ``run()`` coroutine until it yields an event; the task
resumes in ``execute_complete``. Here the deferral is taken from the sensor's own ``execute``,
and the trigger it hands over runs in an event loop against the real endpoint while a retrain
request appears in the bucket.
"""

from __future__ import annotations

import asyncio
import json

import pytest

pytestmark = pytest.mark.dag

PENDING = "retrain-requests/pending/"


@pytest.fixture
def sensor(dagbag, clean_bucket):
    task = dagbag.get_dag("fn_retrain").get_task("wait_for_request")
    assert task.bucket_name == clean_bucket.bucket and task.deferrable
    return task


def _defer(sensor):
    from airflow.exceptions import TaskDeferred

    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context={})
    assert deferred.value.method_name == "execute_complete"
    return deferred.value.trigger


async def _first_event(trigger, timeout: float):
    return await asyncio.wait_for(anext(trigger.run()), timeout)


def test_deferred_trigger_fires_when_a_request_appears(sensor, clean_bucket):
    trigger = _defer(sensor)  # nothing pending: the worker's first check defers
    trigger.poke_interval = 0.2
    classpath, kwargs = trigger.serialize()  # what the triggerer stores and re-creates
    trigger = type(trigger)(**kwargs)
    assert classpath.endswith("S3KeyTrigger") and kwargs["wildcard_match"] is True

    async def scenario():
        waiting = asyncio.ensure_future(_first_event(trigger, timeout=60))
        await asyncio.sleep(1.0)
        assert not waiting.done(), "the trigger fired before any request existed"
        await asyncio.to_thread(clean_bucket.put_bytes, f"{PENDING}req-1.json",
                                json.dumps({"request_id": "req-1"}).encode())
        return await waiting

    event = asyncio.run(scenario())
    assert event.payload["status"] == "success", event.payload
    sensor.execute_complete(context={}, event=event.payload)  # the task resumes and succeeds


def test_sensor_does_not_defer_when_a_request_is_already_there(sensor, clean_bucket):
    clean_bucket.put_bytes(f"{PENDING}req-2.json", b"{}")
    assert sensor.execute(context={}) is None  # found on the worker: no deferral


def test_trigger_error_fails_the_resumed_task(sensor):
    from airflow.sdk.exceptions import AirflowException

    with pytest.raises(AirflowException, match="access denied"):
        sensor.execute_complete(context={}, event={"status": "error",
                                                   "message": "access denied"})
