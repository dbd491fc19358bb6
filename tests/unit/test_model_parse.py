import pytest

from compose.model import parse as P


def test_port_short_forms():
    assert P.parse_port("80") == [{"target": 80, "published": None, "host_ip": None,
                                   "protocol": "tcp"}]
    assert P.parse_port(80)[0]["target"] == 80
    assert P.parse_port("8080:80/udp") == [{"target": 80, "published": "8080",
                                            "host_ip": None, "protocol": "udp"}]
    [p] = P.parse_port("127.0.0.1:8080:80")
    assert (p["host_ip"], p["published"], p["target"]) == ("127.0.0.1", "8080", 80)
    [p] = P.parse_port("[::1]:8080:80")
    assert p["host_ip"] == "::1"
    [p] = P.parse_port("127.0.0.1::80")
    assert p["published"] is None and p["host_ip"] == "127.0.0.1"
    [p] = P.parse_port("8000-8010:80")
    assert p["published"] == "8000-8010"


def test_port_ranges_expand_one_per_port():
    got = P.parse_port("80-82:8080-8082")
    assert [(p["published"], p["target"]) for p in got] == [("80", 8080), ("81", 8081),
                                                            ("82", 8082)]
    assert [p["target"] for p in P.parse_port("3000-3002")] == [3000, 3001, 3002]


@pytest.mark.parametrize(("spec", "why"), [
    ("80:80/foo", "invalid protocol"), ("70000:80", "between 1 and 65535"),
    ("80-81:90-99", "different sizes"), ("abc", "invalid container port"),
    ("8080:", "missing container port"), ("", "empty"), ("90-80", "end before start"),
    (1.5, "invalid port"),
])
def test_bad_ports(spec, why):
    with pytest.raises(ValueError, match=why):
        P.parse_port(spec)


def test_volume_short_forms():
    assert P.parse_volume("/data") == {"type": "volume", "source": None, "target": "/data",
                                       "read_only": False}
    v = P.parse_volume("./src:/app:ro,z")
    assert v["type"] == "bind" and v["read_only"] and v["bind"]["selinux"] == "z"
    assert v["bind"]["create_host_path"] is True
    v = P.parse_volume("data:/var/lib/data:nocopy")
    assert v["type"] == "volume" and v["source"] == "data" and v["volume"] == {"nocopy": True}
    assert P.parse_volume("~/x:/x")["type"] == "bind"
    assert P.parse_volume("/a:/b:rshared")["bind"]["propagation"] == "rshared"


@pytest.mark.parametrize(("spec", "why"), [
    ("data", "absolute path"), ("a:b:c:d", "too many"), ("./x:rel", "absolute path"),
    ("./x:/y:bogus", "unknown mode 'bogus'"), ("./x:/y:ro,rw", "both ro and rw"),
    ("bad name!:/y", "neither a path"), (":/y", "empty source"),
])
def test_bad_volumes(spec, why):
    with pytest.raises(ValueError, match=why):
        P.parse_volume(spec)


def test_key_values_and_scalars():
    assert P.parse_key_values(["A=1", "B", "C=x=y"]) == {"A": "1", "B": None, "C": "x=y"}
    assert P.parse_key_values({"A": True, "B": 1.0, "C": None, "D": 1.5}) == {
        "A": "true", "B": "1", "C": None, "D": "1.5"}


def test_extra_hosts():
    assert P.parse_extra_hosts(["a=1.2.3.4", "b:5.6.7.8", "c=[::1]"]) == [
        ("a", "1.2.3.4"), ("b", "5.6.7.8"), ("c", "::1")]
    assert P.parse_extra_hosts({"a": ["1.1.1.1", "2.2.2.2"]}) == [("a", "1.1.1.1"),
                                                                 ("a", "2.2.2.2")]
    with pytest.raises(ValueError, match="HOST=IP"):
        P.parse_extra_hosts(["nohost"])


def test_devices_modes_bools_ints_commands():
    assert P.parse_device("/dev/sda") == {"source": "/dev/sda", "target": "/dev/sda",
                                          "permissions": "rwm"}
    assert P.parse_device("/dev/sda:/dev/xvda:r")["permissions"] == "r"
    assert P.parse_file_mode(0o440) == 0o440
    assert P.parse_file_mode("0440") == 0o440
    with pytest.raises(ValueError, match="octal"):
        P.parse_file_mode("0999")
    assert P.to_bool("TRUE") is True and P.to_bool("0") is False
    with pytest.raises(ValueError, match="boolean"):
        P.to_bool("maybe")
    assert P.to_int(" 3 ") == 3
    with pytest.raises(ValueError, match="integer"):
        P.to_int("3.5")
    assert P.split_command("echo 'a b' c") == ("echo", "a b", "c")
    assert P.split_command(["a", 1]) == ("a", "1")
    assert P.split_command(None) is None
    with pytest.raises(ValueError, match="cannot split"):
        P.split_command("echo 'unterminated")
