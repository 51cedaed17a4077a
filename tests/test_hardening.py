"""What a careless client or an attacker meets at the served app (loopback, tiny models): every route that
takes a file refused, a slow or vanished body cut off with one line in the log, malformed values named
(never a traceback, never ``{"error": null}``), no input echoed back at length. Each of these failed before
(issue 21's probe)."""

import logging
import socket
import time

import httpx
import pytest

from demo.keystroke import MAX_TICKET
from demo.serving import BODY_SECONDS, MAX_ERROR_BYTES
from lm.core.checks import MAX_WORD_CHARS
from tests.conftest import call, http

SETTINGS = ["most likely", 1.0, 0, 1.0, -1]


def keystroke(url: str, body: bytes) -> httpx.Response:
    return http().post(f"{url}keystroke/suggest_bigram", content=body, timeout=60)


def port_of(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


def test_every_route_that_takes_a_file_is_refused(tiny_app):
    from gradio.utils import get_upload_folder

    folder = get_upload_folder()
    for route in ("gradio_api/process_recording", "gradio_api/upload", "gradio_api/call/suggest", "keystroke/x"):
        answer = http().post(
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


@pytest.mark.slow
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
    answer = http().post(f"{tiny_app}gradio_api/queue/join", content=junk, headers={"content-type": "application/json"})
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
    started = http().post(
        f"{tiny_app}gradio_api/call/sample_bigram", content=body.encode(), headers=json_type, timeout=60
    )
    stream = http().get(f"{tiny_app}gradio_api/call/sample_bigram/{started.json()['event_id']}", timeout=60).text
    assert "event: complete" in stream and "something went wrong" not in stream


# ---- what one client may leave behind, and whom it may hold up ---------------------------------------


def test_a_session_keeps_no_copy_of_a_big_input(tiny_app, tiny_keyboard):
    """Every `/call` is a new session; Gradio kept each one's last inputs (an 11 MB text stayed 11 MB)."""
    import gc

    marker = "quokka" * 50_000  # 300 KB, in one new session
    call(tiny_app, "explain", [f"{marker} the c"])
    for _ in range(3):  # Gradio's tasks for the last events finish in the background
        call(tiny_app, "explain", ["the c"])
    gc.collect()
    holders = [o for o in gc.get_objects() if type(o) in (dict, list) and any(map(_is_marker, _values(o)))]
    assert not holders


def _values(container):
    return container.values() if isinstance(container, dict) else container


def _is_marker(value) -> bool:
    return isinstance(value, str) and len(value) > 100_000 and value.startswith("quokka")


def test_sessions_kept_are_bounded(tiny_app):
    from demo.ui import MAX_SESSIONS

    holder = _served_blocks(tiny_app).state_holder
    for _ in range(3):
        call(tiny_app, "suggest", ["the c", *SETTINGS])
    assert holder.capacity == MAX_SESSIONS and 3 <= len(holder.session_data) <= MAX_SESSIONS


def _served_blocks(url: str):
    """The Blocks served at `url` (this process's)."""
    import gc

    import gradio as gr

    port = port_of(url)
    return next(b for b in gc.get_objects() if isinstance(b, gr.Blocks) and getattr(b, "server_port", None) == port)


def learn(url: str) -> str:
    """Start a page learning through the API; its token."""
    stream = call(url, "learning", [True, 100])
    return __import__("json").loads(stream.split("data: ", 1)[1])[1]["token"]


def bigram_strip(url: str, text: str, token=None, written=None) -> list:
    data = {"data": [text, *SETTINGS, 1, token, written]}
    return http().post(f"{url}keystroke/suggest_bigram", json=data, timeout=60).json()["data"]


def test_a_page_flooding_its_learner_stops_at_the_bound_and_keeps_serving(tiny_app):
    from lm.counting.personal import MAX_SENTENCES

    token = learn(tiny_app)
    for i in range(12):  # each keystroke's text: ~400 new made-up sentences (the page sends 4,000 characters)
        written = " ".join(f"w{i}x{j} v{j}." for j in range(400))
        strip, _ = bigram_strip(tiny_app, "the ", token, written)
    assert f"+ your {MAX_SENTENCES} sentences (full)" in strip["info"]
    assert bigram_strip(tiny_app, "the ")[0]["chips"] == [{"word": "cat", "p": 0.5}, {"word": "dog", "p": 0.5}]


def test_a_learning_page_is_read_off_the_event_loop(tiny_app, monkeypatch):
    import asyncio

    from lm.counting.personal import Learner

    where, read = [], Learner.read

    def reading(self, text):
        try:
            asyncio.get_running_loop()
            where.append("event loop")
        except RuntimeError:
            where.append("a thread")
        return read(self, text)

    monkeypatch.setattr(Learner, "read", reading)
    bigram_strip(tiny_app, "the ", learn(tiny_app), "the dog ran. the ")
    assert where == ["a thread"]


@pytest.mark.slow
def test_a_loop_of_new_pages_cannot_evict_a_learning_page(own_app):
    from lm.counting.personal import MAX_LEARNERS

    token = learn(own_app)
    bigram_strip(own_app, "the ", token, "the dog ran. the dog ran. the ")
    refused = [call(own_app, "learning", [True, 100]) for _ in range(MAX_LEARNERS + 5)]
    assert sum(f"already learns for {MAX_LEARNERS} pages" in stream for stream in refused) >= 5
    assert bigram_strip(own_app, "the ", token, "the dog ran. the dog ran. the ")[0]["chips"][0]["word"] == "dog"


@pytest.mark.slow
def test_one_client_cannot_fill_the_queue_for_everyone(own_app):
    """A flood of Compare calls (each `/call` a new session): past MAX_WAITING_PER_CLIENT waiting, this
    address is refused for /compare, and the queue stays open for the other features."""
    from concurrent.futures import ThreadPoolExecutor

    from demo.serving import MAX_WAITING_PER_CLIENT

    text = " ".join(["the cat sat and the dog ran"] * 60)

    def post(_):
        return http().post(f"{own_app}gradio_api/call/compare", json={"data": [text, 400]}, timeout=60)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(40)))
    refused = [a for a in answers if a.status_code == 503]
    assert refused and f"you have {MAX_WAITING_PER_CLIENT} requests waiting" in refused[0].text
    assert "event: complete" in call(own_app, "sample_bigram", ["the c", 1.0, 0, 1.0, -1, ""])
    for answer in answers:  # let them finish, so that no other test waits behind them
        if answer.status_code == 200:
            http().get(f"{own_app}gradio_api/call/compare/{answer.json()['event_id']}", timeout=300)


def test_pages_kept_apart_share_no_cached_context(tiny_app, tiny_keyboard, monkeypatch):
    """Shared (the default), a text one address typed answers another from the cache (no pass: a timing
    tells that it was typed); with `pages_apart` (``--private-pages``), the other address runs its own."""
    engine = tiny_keyboard.models["transformer"].engine

    def ask(source: str, text: str) -> dict:
        with httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=60) as client:
            data = {"data": [text, *SETTINGS, 1]}
            return client.post(f"{tiny_app}keystroke/suggest_transformer", json=data).json()["data"][0]

    def event_passes(source: str, api: str, data: list) -> int:
        before = engine.passes
        with httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=60) as client:
            started = client.post(f"{tiny_app}gradio_api/call/{api}", json={"data": data})
            events = client.get(f"{tiny_app}gradio_api/call/{api}/{started.json()['event_id']}").text
        assert "event: complete" in events and "⚠️" not in events, events[:300]
        return engine.passes - before

    def passes_for(source: str, text: str) -> int:
        before = engine.passes
        ask(source, text)
        return engine.passes - before

    assert passes_for("127.0.0.1", "a text the first page types ") > 0
    assert passes_for("127.0.0.2", "a text the first page types ") == 0  # shared: answered from the cache
    monkeypatch.setattr(tiny_keyboard.models["transformer"], "pages_apart", True)
    assert passes_for("127.0.0.1", "another text the first page types ") > 0
    assert passes_for("127.0.0.2", "another text the first page types ") > 0  # apart: its own passes
    assert passes_for("127.0.0.2", "another text the first page types ") == 0  # and its own cache
    assert ask("127.0.0.1", "the c") == ask("127.0.0.2", "the c")  # the same numbers either way
    # Gradio's events carry their page too (`gr.Request`): the explanations and charts of a page read its cache
    for api, text, settings in (("explain", "a third text ", []), ("distributions", "a fourth text ", [1.0, 0, 1.0])):
        assert passes_for("127.0.0.1", text) > 0
        assert event_passes("127.0.0.2", api, [text, *settings, None]) > 0, api  # another page: not from that cache
        assert event_passes("127.0.0.1", api, [text, *settings, None]) == 0, api  # the typist's page: from its cache
