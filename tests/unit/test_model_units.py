import pytest

from compose.model.units import format_duration, parse_bytes, parse_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("1m30s", 90.0), ("10s", 10.0), ("500ms", 0.5), ("1.5h", 5400.0), ("0", 0.0),
    ("2us", 2e-6), ("1h2m3s", 3723.0), ("100ns", 1e-7), (5, 5.0),
])
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("text", "why"), [
    ("10", "missing unit"), ("abc", "expected e.g."), ("-1s", "negative"), ("1x", "invalid"),
    ("", "invalid"), ("1m30", "invalid"), (True, "invalid"),
])
def test_bad_durations(text, why):
    with pytest.raises(ValueError, match=why):
        parse_duration(text)


@pytest.mark.parametrize(("text", "n"), [
    ("512m", 512 << 20), ("1gb", 1 << 30), ("1GiB", 1 << 30), ("100", 100), ("1.5k", 1536),
    (1024, 1024), ("64MB", 64 << 20), ("2t", 2 << 40), ("10b", 10),
])
def test_sizes(text, n):
    assert parse_bytes(text) == n


@pytest.mark.parametrize("text", ["12q", "ib", "-1", "m", "1.2.3m", -5, False, ""])
def test_bad_sizes(text):
    with pytest.raises(ValueError, match="invalid size"):
        parse_bytes(text)


@pytest.mark.parametrize("text", ["1m30s", "10s", "500ms", "1h0m0s", "2h3m4.5s", "0s"])
def test_duration_round_trip(text):
    assert format_duration(parse_duration(text)) == text
