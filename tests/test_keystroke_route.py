"""The keystroke route the page posts to: the same answers as the /suggest_<strip> API, and a clear 4xx
for a malformed request (the app keeps serving)."""

import httpx
import pytest
from gradio_client import Client

from tests.conftest import http

SETTINGS = ["most likely", 1.0, 0, 1.0, -1]


def post(url: str, strip: str, body) -> httpx.Response:
    return http().post(f"{url}keystroke/suggest_{strip}", json=body, timeout=60)


@pytest.mark.parametrize("strip", ["bigram", "transformer"])
def test_the_route_answers_as_the_api_does(tiny_app, strip):
    answer = post(tiny_app, strip, {"data": ["the c", *SETTINGS, 7]})
    assert answer.status_code == 200
    route_strip, message = answer.json()["data"]
    api_strip = Client(tiny_app, verbose=False).predict("the c", *SETTINGS, 7, api_name=f"/suggest_{strip}")[0]
    assert route_strip == api_strip and route_strip["ticket"] == 7 and route_strip["prefix"] == "c"
    assert isinstance(message, str)


@pytest.mark.parametrize(
    "body, status, named",
    [
        ({"data": ["the c"]}, 400, "7 values"),
        ({"text": "the c"}, 400, '{"data": [...]}'),
        ([1, 2, 3], 400, '{"data": [...]}'),
        ({"data": "the c" * 10}, 400, "7 values"),
    ],
)
def test_a_malformed_request_is_named_and_the_app_keeps_serving(tiny_app, body, status, named):
    answer = post(tiny_app, "bigram", body)
    assert answer.status_code == status and named in answer.json()["error"]
    assert post(tiny_app, "bigram", {"data": ["the c", *SETTINGS, 1]}).json()["data"][0]["chips"]


def test_an_unknown_strip_and_an_oversized_body_are_refused(tiny_app):
    answer = post(tiny_app, "trigram", {"data": ["the c", *SETTINGS, 1]})
    assert answer.status_code == 404 and "trigram" in answer.json()["error"]
    huge = http().post(f"{tiny_app}keystroke/suggest_bigram", content=b"x" * (2 << 20), timeout=60)
    assert huge.status_code == 413
    not_json = http().post(f"{tiny_app}keystroke/suggest_bigram", content=b"\xff\xfe{", timeout=60)
    assert not_json.status_code == 400


def test_bad_values_inside_the_data_get_the_apps_message(tiny_app):
    strip, message = post(tiny_app, "bigram", {"data": [None, *SETTINGS, 1]}).json()["data"]
    assert "`text`" in message
    strip, message = post(tiny_app, "transformer", {"data": ["the c", "sampled", "hot", 0, 1.0, -1, 2]}).json()["data"]
    assert strip["ticket"] == 2  # a bad setting is ignored (the page checks settings separately)


def test_api_users_of_the_transformer_strip_reach_the_engine_at_once(tiny_app, tiny_keyboard):
    """gradio_client goes through Gradio's queue: its strip calls must run side by side, as the page's do,
    so that the engine merges them (at one at a time, 50 API users waited 27 s for an answer)."""
    import threading
    import time

    from tests.test_engine import held

    engine, users = tiny_keyboard.models["transformer"].engine, 4
    texts = [f"marmot {word} quokka s" for word in ("zebra", "yak", "ibex", "okapi")]  # contexts no test caches
    clients = [Client(tiny_app, verbose=False) for _ in range(users)]
    answers = [None] * users

    def ask(i):
        answers[i] = clients[i].predict(texts[i], *SETTINGS, i, None, api_name="/suggest_transformer")[0]

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(users)]
    with held(engine):
        for thread in threads:
            thread.start()
        for _ in range(600):  # poll: every user's search waits for the held engine, none behind another user
            if engine.waiting()["keystroke"] >= users:
                break
            time.sleep(0.05)
        waiting = engine.waiting()["keystroke"]
    for thread in threads:
        thread.join(timeout=60)
    assert waiting >= users
    assert [answer["ticket"] for answer in answers] == list(range(users))


def test_the_bigram_strip_answers_while_the_transformer_is_busy(tiny_app, tiny_keyboard):
    from tests.test_engine import held

    with held(tiny_keyboard.models["transformer"].engine):  # every transformer pass waits
        answer = Client(tiny_app, verbose=False).predict("the c", *SETTINGS, 3, None, api_name="/suggest_bigram")[0]
    assert answer["ticket"] == 3 and [chip["word"] for chip in answer["chips"]] == ["cat"]
