"""What a careless client or an attacker meets at the served app (loopback, tiny models): every route that
takes a file refused, a slow or vanished body cut off with one line in the log, malformed values named
(never a traceback, never ``{"error": null}``), no input echoed back at length. Each of these failed before
(issue 21's probe)."""

import logging
import socket
import time

import httpx
import pytest

from demo.keyboard_tab import MAX_TICKET
from demo.serving import BODY_SECONDS, MAX_ERROR_BYTES
from lm.checks import MAX_WORD_CHARS

SETTINGS = ["most likely", 1.0, 0, 1.0, -1]


def call(url: str, api: str, data: list) -> str:
    """A `/gradio_api/call` request and its event stream, as text."""
    started = httpx.post(f"{url}gradio_api/call/{api}", json={"data": data}, timeout=60)
    assert started.status_code == 200, started.text[:200]
    return httpx.get(f"{url}gradio_api/call/{api}/{started.json()['event_id']}", timeout=60).text


def keystroke(url: str, body: bytes) -> httpx.Response:
    return httpx.post(f"{url}keystroke/suggest_bigram", content=body, timeout=60)


def port_of(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


def test_every_route_that_takes_a_file_is_refused(tiny_app):
    from gradio.utils import get_upload_folder

    folder = get_upload_folder()
    for route in ("gradio_api/process_recording", "gradio_api/upload", "gradio_api/call/suggest", "keystroke/x"):
        answer = httpx.post(
            f"{tiny_app}{route}", files={"video": ("evil.html", b"<script>1</script>" * 100)}, timeout=60
        )
        assert answer.status_code in (404, 415) and "no files" in answer.text and "<script>" not in answer.text
    assert not list(__import__("pathlib").Path(folder).rglob("*.mp4"))


def test_a_file_reference_in_an_input_is_named(tiny_app, capfd):
    stream = call(tiny_app, "suggest", [{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}, *SETTINGS])
    assert "value 1 is a file reference" in stream and '"error": null' not in stream
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_number_json_cannot_hold_is_refused_by_name(tiny_app, number, capfd):
    body = '{"data": ["the c", "most likely", 1.0, 0, 1.0, -1, %s]}' % number
    answer = keystroke(tiny_app, body.encode())
    assert answer.status_code == 400 and number.lstrip("-") in answer.json()["error"]
    assert "Traceback" not in capfd.readouterr().err


def test_json_nested_too_deep_is_refused(tiny_app, capfd):
    answer = keystroke(tiny_app, b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    assert answer.status_code == 400 and "nested too deep" in answer.json()["error"]
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize("ticket", [2**64 + 1, -1, 2.5, "7"])
def test_a_ticket_out_of_range_is_named_on_the_route_and_the_api(tiny_app, ticket, capfd):
    strip, message = keystroke(
        tiny_app, httpx._content.json_dumps({"data": ["the c", *SETTINGS, ticket]}).encode()
    ).json()["data"]
    assert "`ticket`" in message and f"{MAX_TICKET:,}" in message
    stream = call(tiny_app, "suggest_bigram", ["the c", *SETTINGS, ticket])
    assert "`ticket`" in stream and '"error": null' not in stream
    assert "Traceback" not in capfd.readouterr().err


def test_a_client_gone_mid_body_leaves_one_line_and_no_traceback(tiny_app, caplog, capfd):
    with caplog.at_level(logging.WARNING, logger="demo.serving"):
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", port_of(tiny_app))) as client:
                client.sendall(
                    b"POST /keystroke/suggest_bigram HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 200000\r\n\r\n" + b"x" * 1000
                )
        deadline = time.monotonic() + 10
        while len([r for r in caplog.records if "left before" in r.message]) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len([r for r in caplog.records if "left before" in r.message]) == 3
    assert "Traceback" not in capfd.readouterr().err
    assert keystroke(tiny_app, httpx._content.json_dumps({"data": ["the c", *SETTINGS, 1]}).encode()).status_code == 200


def test_a_body_that_never_finishes_is_cut_off(tiny_app):
    with socket.create_connection(("127.0.0.1", port_of(tiny_app))) as client:
        client.sendall(
            b"POST /gradio_api/call/suggest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\n" + b"x" * 10
        )
        client.settimeout(BODY_SECONDS + 20)
        started = time.monotonic()
        reply = client.recv(4096)
    assert reply.startswith(b"HTTP/1.1 408") and time.monotonic() - started < BODY_SECONDS + 5


def test_no_reply_echoes_a_big_input(tiny_app):
    junk = b'{"data": "' + b"x" * 1_000_000 + b'", "fn_index": "a"}'
    answer = httpx.post(f"{tiny_app}gradio_api/queue/join", content=junk, headers={"content-type": "application/json"})
    assert answer.status_code == 422 and len(answer.content) <= MAX_ERROR_BYTES
    slices = call(tiny_app, "slices", ["w" * 1_000_000, "cat"])
    assert len(slices) < 2_000 and f"at most {MAX_WORD_CHARS} characters" in slices
    learned = call(tiny_app, "learn_table", [20, 5, "z" * 1_000_000])
    assert len(learned) < 2_000 and "`z`" in learned


@pytest.mark.parametrize(
    "api, data, named",
    [
        ("suggest", ["the c", "sampled", 10**400, 0, 1.0, -1], "`temperature`"),
        ("generate_bigram", ["the c", 10**400, 1.0, 0, 1.0, -1, ""], "`n_words`"),
        ("joint_table", [-(10**400), "the", "cat"], "`size`"),
        ("sample_bigram", ["the c", 1.0, 0, 1.0, -1, 123], "`generated`"),
        ("sample_bigram", ["the c", 1.0, 0, 1.0, -1, [["a"]]], "`generated`"),
    ],
)
def test_every_bad_value_is_named(tiny_app, api, data, named):
    stream = call(tiny_app, api, data)
    assert named in stream and "something went wrong" not in stream


def test_a_lone_surrogate_in_the_sampled_text_is_read_as_a_space(tiny_app):
    body = '{"data": ["the c", 1.0, 0, 1.0, -1, "a \\ud800"]}'
    json_type = {"content-type": "application/json"}
    started = httpx.post(
        f"{tiny_app}gradio_api/call/sample_bigram", content=body.encode(), headers=json_type, timeout=60
    )
    stream = httpx.get(f"{tiny_app}gradio_api/call/sample_bigram/{started.json()['event_id']}", timeout=60).text
    assert "event: complete" in stream and "something went wrong" not in stream
