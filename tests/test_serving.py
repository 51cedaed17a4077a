"""What the served app accepts before any handler runs (`demo.serving`): hosts it is served as (no DNS
rebinding), its own pages' requests, no file uploads, bounded bodies; monitoring and run history off;
each refusal one line in the log. Through the served app (tiny models), as an attacker's page would send."""

import logging
import os
import socket

import httpx
import pytest
from starlette.datastructures import Headers

from demo.serving import MAX_REQUEST_BYTES, proxy_names, refusal, served_names
from tests.conftest import http

HINT = "(to serve that name, start it with --allow-host NAME)"
SUGGEST = {"data": ["the c", "most likely", 1.0, 0, 1.0, -1]}


def call(url: str, headers: dict | None = None, body=SUGGEST) -> httpx.Response:
    return http().post(f"{url}gradio_api/call/suggest", json=body, headers=headers or {}, timeout=60)


def port_of(url: str) -> str:
    return url.rstrip("/").rsplit(":", 1)[1]


def test_a_page_of_a_rebound_domain_is_refused_before_the_api_runs(tiny_app, tiny_keyboard, caplog):
    port = port_of(tiny_app)
    searches = tiny_keyboard.models["transformer"].engine.passes
    evil = {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"}
    with caplog.at_level(logging.WARNING, logger="demo.serving"):
        answer = call(tiny_app, evil)
        page = http().get(tiny_app, headers=evil, timeout=60)
    assert answer.status_code == 421 and "evil.example" in answer.text and page.status_code == 421
    assert "event_id" not in answer.text and tiny_keyboard.models["transformer"].engine.passes == searches
    assert [record.message for record in caplog.records] == [
        f"refused POST '/gradio_api/call/suggest': this app is not served as 'evil.example:{port}' {HINT}",
        f"refused GET '/': this app is not served as 'evil.example:{port}' {HINT}",
    ]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST"])
def test_the_names_of_this_machine_are_served(tiny_app, host):
    answer = call(tiny_app, {"Host": f"{host}:{port_of(tiny_app)}", "Origin": f"http://{host}:{port_of(tiny_app)}"})
    assert answer.status_code == 200 and "event_id" in answer.json()


@pytest.mark.parametrize(
    "origin",
    ["http://evil.example", "null", "http://localhost:8888", "file://", "http://127.0.0.1:1"],
    ids=["another site", "a sandboxed frame", "another app on this machine", "a file", "another port"],
)
def test_requests_from_other_pages_are_refused(tiny_app, origin):
    answer = call(tiny_app, {"Origin": origin})
    assert answer.status_code == 403 and "refused" in answer.text
    keystroke = http().post(f"{tiny_app}keystroke/suggest_bigram", json={"data": []}, headers={"Origin": origin})
    assert keystroke.status_code == 403


def test_uploads_are_refused_and_nothing_is_stored(tiny_app):
    from gradio.utils import get_upload_folder

    folder = get_upload_folder()
    before = sum(len(files) for _, _, files in os.walk(folder)) if os.path.isdir(folder) else 0
    answer = http().post(f"{tiny_app}gradio_api/upload", files={"files": ("big.bin", b"x" * 200_000)}, timeout=60)
    assert answer.status_code == 404 and "no files" in answer.text
    after = sum(len(files) for _, _, files in os.walk(folder)) if os.path.isdir(folder) else 0
    assert after == before


def test_monitoring_and_run_history_are_off(tiny_app, capfd):
    for path in ("monitoring", "monitoring/summary"):
        assert http().get(f"{tiny_app}{path}", timeout=60).status_code == 403
    assert http().get(f"{tiny_app}gradio_api/runs", timeout=60).status_code == 404
    assert "Monitoring URL" not in capfd.readouterr().out


def test_an_oversized_body_is_refused_unread(tiny_app):
    answer = http().post(f"{tiny_app}gradio_api/call/suggest", content=b"x" * (MAX_REQUEST_BYTES + 1), timeout=60)
    assert answer.status_code == 413


def test_a_request_short_of_values_gets_one_line_not_a_traceback(tiny_app, caplog, capfd):
    with caplog.at_level(logging.WARNING):
        event = call(tiny_app, body={"data": ["the c"]}).json()["event_id"]
        stream = http().get(f"{tiny_app}gradio_api/call/suggest/{event}", timeout=60).text
    assert "/suggest takes 6 values, but got 1" in stream
    assert "Traceback" not in capfd.readouterr().err
    assert [r.message for r in caplog.records if "short" in r.message or "takes" in r.message] == [
        "rejected a request: /suggest takes 6 values, but got 1"
    ]
    assert call(tiny_app).status_code == 200  # and it keeps serving


def test_the_command_line_names_hosts_to_serve():
    import app

    assert app.parse_args(["--allow-host", "class.example", "--allow-host", "b.example"]).allow_host == [
        "class.example",
        "b.example",
    ]
    assert app.parse_args([]).allow_host == []


def test_the_names_served_follow_the_launch():
    assert served_names("127.0.0.1") == {"localhost"}
    assert served_names("class.example") == {"localhost", "class.example"} | served_names("0.0.0.0") - {"localhost"}
    network = served_names("0.0.0.0")
    assert socket.gethostname().lower() in network and "0.0.0.0" not in network
    assert proxy_names(("Proxy.Example",), share=True) == {"proxy.example", ".gradio.live"}


@pytest.mark.parametrize(
    "headers, allowed, status",
    [
        ({"host": "10.1.2.3:7860"}, (), None),  # an address cannot be rebound: any is served
        ({"host": "[::1]:7860", "origin": "http://[::1]:7860"}, (), None),
        ({"host": "class.example"}, (), 421),
        ({"host": "class.example"}, ("class.example",), None),
        ({"host": "127.0.0.1:7860", "origin": "https://class.example"}, ("class.example",), None),  # a proxy
        ({"host": "127.0.0.1:7860", "origin": "https://class.example"}, (), 403),
        ({}, (), 421),
        ({"host": "127.0.0.1", "content-length": "-5"}, (), 413),
        ({"host": "127.0.0.1", "transfer-encoding": "chunked"}, (), 411),
    ],
)
def test_refusals(headers, allowed, status):
    found = refusal(
        "POST", "/gradio_api/call/suggest", Headers(headers), served_names("127.0.0.1", allowed), proxy_names(allowed)
    )
    assert (found and found[0]) == status
