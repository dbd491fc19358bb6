import io
import json

from compose.events import Event, EventBus, Kind, Status
from compose.render import choose_renderer


def emit_sample(renderer) -> None:
    bus = EventBus()
    bus.subscribe(renderer)
    with renderer:
        bus.status(Kind.NETWORK, "demo_default", Status.CREATING)
        bus.status(Kind.NETWORK, "demo_default", Status.CREATED)
        bus.status(Kind.CONTAINER, "demo-db-1", Status.ERROR, "exec: no such file")
        bus.message("Gracefully stopping...")


def test_plain_lines():
    out = io.StringIO()
    emit_sample(choose_renderer("plain", out))
    assert out.getvalue().splitlines() == [
        " Network demo_default Creating",
        " Network demo_default Created",
        " Container demo-db-1 Error exec: no such file",
        " Gracefully stopping...",
    ]


def test_json_lines_have_compose_keys():
    out = io.StringIO()
    emit_sample(choose_renderer("json", out))
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert rows[1]["id"] == "Network demo_default" and rows[1]["status"] == "Created"
    assert rows[2]["error"] is True and rows[2]["details"] == "exec: no such file"


def test_quiet_prints_nothing():
    out = io.StringIO()
    emit_sample(choose_renderer("quiet", out))
    assert out.getvalue() == ""


def test_tty_block_shows_final_state():
    out = io.StringIO()
    emit_sample(choose_renderer("tty", out, operation="up"))
    text = out.getvalue()
    assert "[+] up 2/2" in text
    assert "✔" in text and "Network demo_default" in text
    assert "✘" in text and "exec: no such file" in text


def test_auto_is_plain_when_not_a_tty():
    from compose.render.plain import PlainRenderer

    assert isinstance(choose_renderer("auto", io.StringIO()), PlainRenderer)


def test_event_done_flags():
    assert Status.CREATED.done and not Status.CREATING.done
    assert Event(Kind.PROJECT, "", Status.INFO, "x").id == "Compose"
