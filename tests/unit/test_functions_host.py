"""Unit tests of the local Functions host's pure parts: settings, host.json, loading, messages, timing."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import azure.functions as func
import pytest
from azure.storage.queue import QueueMessage as StorageMessage

from edgeloop.wire.servicebus_envelope import Envelope, MessageDecodeError, encode_envelope, parse_envelope
from localdev.functions_host.host_config import HostConfig, HostConfigError, parse_timespan
from localdev.functions_host.invocation import Invoker
from localdev.functions_host.loader import (
    FunctionAppError,
    FunctionSpec,
    find_function_app,
    import_app_module,
    read_functions,
)
from localdev.functions_host.messages import decode_body, to_service_bus_message
from localdev.functions_host.queue_listener import Backoff, batch_fetch, concurrency_fetch
from localdev.functions_host.settings import DEVELOPMENT_STORAGE, AppSettings, MissingSettingError
from localdev.functions_host.timer import Schedule, ScheduleStatus, plan_startup

APPS = Path(__file__).resolve().parents[1] / "support" / "function_apps"


# --- settings and binding expressions -------------------------------------------------------


def test_environment_wins_over_local_settings_and_expressions_resolve() -> None:
    settings = AppSettings(
        environ={"QUEUE": "from-env"}, local_values={"QUEUE": "from-file", "SUB": "global"}
    )
    assert settings.resolve("%QUEUE%", "f") == "from-env"
    assert settings.resolve("%QUEUE%-%SUB%", "f") == "from-env-global"
    assert settings.resolve("plain", "f") == "plain"


def test_local_settings_values_are_read_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps({"IsEncrypted": False, "Values": {"QUEUE": "from-file"}}))
    assert AppSettings.load(path, environ={}).resolve("%QUEUE%", "f") == "from-file"


def test_a_missing_setting_is_a_clear_error_naming_it() -> None:
    with pytest.raises(MissingSettingError, match=r"'NOPE' \(used by function 'work'\) is not set"):
        AppSettings(environ={}).resolve("%NOPE%", "function 'work'")


def test_connections_name_settings_with_the_hosts_fallbacks() -> None:
    settings = AppSettings(
        environ={
            "AzureWebJobsStorage": "host",
            "AzureWebJobsEdge": "prefixed",
            "Dev": "UseDevelopmentStorage=true",
        }
    )
    assert settings.connection_string(None, "f") == "host"
    assert settings.connection_string("", "f") == "host"
    assert settings.connection_string("Edge", "f") == "prefixed"
    assert settings.connection_string("Dev", "f") == DEVELOPMENT_STORAGE
    with pytest.raises(MissingSettingError, match="'Cloud'"):
        settings.connection_string("Cloud", "f")


# --- host.json --------------------------------------------------------------------------------


def test_host_json_defaults_match_the_host() -> None:
    queues = HostConfig.from_document({"version": "2.0"}).queues
    assert (queues.batch_size, queues.new_batch_threshold, queues.max_dequeue_count) == (16, 8, 5)
    assert (queues.visibility_timeout, queues.max_polling_interval, queues.message_encoding) == (
        0,
        60,
        "base64",
    )
    assert HostConfig.from_document({}).service_bus.max_concurrent_calls == 16


def test_host_json_queue_options_are_read_and_checked() -> None:
    queues = HostConfig.from_document(
        {
            "extensions": {
                "queues": {"batchSize": 4, "maxPollingInterval": 2000, "visibilityTimeout": "00:00:30"}
            }
        }
    ).queues
    assert (queues.batch_size, queues.new_batch_threshold) == (4, 2)
    assert (queues.max_polling_interval, queues.visibility_timeout) == (2.0, 30.0)
    with pytest.raises(HostConfigError, match=r"extensions.queues.batchSize"):
        HostConfig.from_document({"extensions": {"queues": {"batchSize": 33}}})
    with pytest.raises(HostConfigError, match="messageEncoding"):
        HostConfig.from_document({"extensions": {"queues": {"messageEncoding": "utf8"}}})
    with pytest.raises(HostConfigError, match="maxPollingInterval"):
        HostConfig.from_document({"extensions": {"queues": {"maxPollingInterval": "00:00:00.05"}}})


def test_service_bus_concurrency_in_both_host_json_layouts() -> None:
    v5 = {"extensions": {"serviceBus": {"maxConcurrentCalls": 4}}}
    v2 = {"extensions": {"serviceBus": {"messageHandlerOptions": {"maxConcurrentCalls": 3}}}}
    assert HostConfig.from_document(v5).service_bus.max_concurrent_calls == 4
    assert HostConfig.from_document(v2).service_bus.max_concurrent_calls == 3


def test_timespans() -> None:
    assert parse_timespan("1.02:03:04.5", "k") == 86400 + 2 * 3600 + 3 * 60 + 4.5
    assert parse_timespan(250, "k", number_unit=0.001) == 0.25
    with pytest.raises(HostConfigError, match="'soon'"):
        parse_timespan("soon", "k")


# --- loading the app ---------------------------------------------------------------------------


def test_the_role_picks_the_blueprints_and_bindings_are_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = AppSettings(environ={"EDGE_QUEUE": "insights"})
    monkeypatch.setenv("EDGELOOP_ROLE", "edge")
    edge = read_functions(
        find_function_app(import_app_module(APPS / "role_app" / "function_app.py")), settings
    )
    assert [(f.name, f.trigger_type, f.trigger["queueName"]) for f in edge] == [
        ("edge_fn", "queueTrigger", "insights")
    ]
    monkeypatch.setenv("EDGELOOP_ROLE", "cloud")
    cloud = read_functions(
        find_function_app(import_app_module(APPS / "role_app" / "function_app.py")), settings
    )
    assert [(f.name, f.trigger["topicName"], f.wants_context) for f in cloud] == [
        ("cloud_fn", "insights", True)
    ]


def test_a_missing_binding_setting_names_the_setting_and_function(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGELOOP_ROLE", "edge")
    app = find_function_app(import_app_module(APPS / "role_app" / "function_app.py"))
    with pytest.raises(MissingSettingError, match=r"'EDGE_QUEUE' .*edge_fn"):
        read_functions(app, AppSettings(environ={}))


def test_unsupported_bindings_are_refused_by_name() -> None:
    app = find_function_app(import_app_module(APPS / "unsupported_app" / "function_app.py"))
    with pytest.raises(FunctionAppError, match="function 'copy': binding 'out' of type 'blob'"):
        read_functions(app, AppSettings(environ={}))


def test_a_missing_app_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FunctionAppError, match="not found"):
        import_app_module(tmp_path / "function_app.py")


# --- messages ------------------------------------------------------------------------------------


def test_message_bodies_decode_per_encoding() -> None:
    assert decode_body(base64.b64encode(b"\x00\xff").decode(), "base64") == b"\x00\xff"
    assert decode_body("plain é", "none") == "plain é".encode()
    with pytest.raises(MessageDecodeError, match="base64"):
        decode_body("not base64!", "base64")


def test_the_service_bus_envelope_round_trips_into_a_service_bus_message() -> None:
    envelope = Envelope(
        message_id="m1", subject="insight", application_properties={"a": 1}, body={"x": [1, 2]}
    )
    text = encode_envelope(envelope)
    parsed = parse_envelope(base64.b64decode(text))
    assert parsed == envelope
    stored = StorageMessage(content=text)
    stored.id, stored.dequeue_count, stored.pop_receipt = "q1", 2, "receipt"
    message = to_service_bus_message(parsed, stored, locked_until=None)
    assert json.loads(message.get_body()) == {"x": [1, 2]}
    assert (message.message_id, message.subject, message.delivery_count) == ("m1", "insight", 2)
    assert message.application_properties == {"a": 1}
    assert message.content_type == "application/json"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"body": {}}, "message_id"),
        ({"message_id": "m"}, "body"),
        ({"message_id": "m", "body": 1, "application_properties": []}, "application_properties"),
        ({"message_id": "m", "body": 1, "subject": 5}, "subject"),
        ({"message_id": "m", "body": 1, "extra": 5}, "extra"),
    ],
)
def test_bad_envelopes_name_the_field(document: dict[str, object], field: str) -> None:
    with pytest.raises(MessageDecodeError, match=field):
        parse_envelope(json.dumps(document).encode())


# --- polling and scheduling --------------------------------------------------------------------


def test_backoff_grows_to_the_maximum_and_resets() -> None:
    backoff = Backoff(maximum=1.0)
    delays = [backoff.next_delay() for _ in range(10)]
    assert delays[0] == pytest.approx(0.1)
    assert delays[1] > delays[0]
    assert max(delays) == 1.0
    backoff.reset()
    assert backoff.next_delay() == pytest.approx(0.1)


def test_fetch_policies() -> None:
    fetch = batch_fetch(batch_size=16, new_batch_threshold=8)
    assert [fetch(n) for n in (0, 8, 9, 24)] == [16, 16, 0, 0]
    concurrency = concurrency_fetch(40)
    assert [concurrency(n) for n in (0, 10, 39, 40)] == [32, 30, 1, 0]


def test_schedules_are_six_field_ncrontab_in_utc() -> None:
    schedule = Schedule("0 */5 * * * *", "f")
    assert schedule.next_after(datetime(2024, 1, 1, 0, 3, 7, tzinfo=UTC)) == datetime(
        2024, 1, 1, 0, 5, tzinfo=UTC
    )
    with pytest.raises(FunctionAppError, match="six fields"):
        Schedule("*/5 * * * *", "f")
    with pytest.raises(FunctionAppError, match="not valid NCRONTAB"):
        Schedule("0 0 25 * * *", "f")


def test_startup_runs_a_missed_occurrence_once_and_nothing_else() -> None:
    schedule = Schedule("0 0 * * * *", "f")  # hourly
    now = datetime(2024, 1, 1, 10, 30, tzinfo=UTC)
    fresh, missed = plan_startup(None, now, schedule)
    assert missed is None
    assert fresh.next == datetime(2024, 1, 1, 11, tzinfo=UTC)
    nine, ten = datetime(2024, 1, 1, 9, tzinfo=UTC), datetime(2024, 1, 1, 10, tzinfo=UTC)
    recorded = ScheduleStatus(last=nine, next=ten, last_updated=nine)
    assert plan_startup(recorded, now, schedule) == (recorded, datetime(2024, 1, 1, 10, tzinfo=UTC))
    on_time = ScheduleStatus(last=recorded.next, next=datetime(2024, 1, 1, 11, tzinfo=UTC), last_updated=now)
    assert plan_startup(on_time, now, schedule) == (on_time, None)
    assert ScheduleStatus.from_dict(on_time.to_dict()) == on_time


# --- invocation ---------------------------------------------------------------------------------


def _spec(fn: object, is_async: bool) -> FunctionSpec:
    return FunctionSpec(name="fn", trigger={"type": "queueTrigger", "name": "msg"}, callable=fn,  # type: ignore[arg-type]
                        is_async=is_async, wants_context=False)  # fmt: skip


def test_sync_and_async_functions_run_and_failures_are_reported(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[object] = []

    def sync_ok(msg: object) -> None:
        seen.append(msg)

    async def async_fail(msg: object) -> None:
        raise ValueError("boom")

    async def run() -> tuple[bool, bool, BaseException | None]:
        with ThreadPoolExecutor(2) as pool:
            invoker = Invoker(pool, ".")
            ok = await invoker.invoke(
                _spec(sync_ok, False), "m1", reason="r", message_id="id1", dequeue_count=1
            )
            bad = await invoker.invoke(
                _spec(async_fail, True), "m2", reason="r", message_id="id2", dequeue_count=3
            )
        return ok.succeeded, bad.succeeded, bad.error

    with caplog.at_level(logging.INFO, logger="localdev.functions_host.invocation"):
        ok, bad, error = asyncio.run(run())
    assert (ok, bad, seen) == (True, False, ["m1"])
    assert isinstance(error, ValueError)
    assert "message_id=id1 dequeue_count=1" in caplog.text
    assert "outcome=Succeeded" in caplog.text
    assert "message_id=id2 dequeue_count=3" in caplog.text
    assert "outcome=Failed exception=ValueError" in caplog.text


def test_the_context_argument_is_a_functions_context() -> None:
    from localdev.functions_host.invocation import HostContext

    context = HostContext("inv-1", "fn", "/app")
    assert isinstance(context, func.Context)
    assert (context.invocation_id, context.function_name, context.function_directory) == (
        "inv-1",
        "fn",
        "/app",
    )
