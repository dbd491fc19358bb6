from compose.model.variables import Variable, variables_of


def test_variables_of_every_template_form():
    data = {"services": {"a": {"image": "${IMAGE:-nginx}:${TAG-latest}",
                               "environment": ["A=$PLAIN", "B=$$ESCAPED", "C=${REQ:?set it}",
                                               "D=${ALT:+on}", "E=${OUT:-${IN:-x}}"],
                               "command": ["echo", "${J:-{\"k\":1}}", "a $ b"]}}}
    got = {v.name: v for v in variables_of(data)}
    assert set(got) == {"IMAGE", "TAG", "PLAIN", "REQ", "ALT", "OUT", "IN", "J"}
    assert got["IMAGE"] == Variable("IMAGE", default="nginx")
    assert got["TAG"] == Variable("TAG", default="latest")
    assert got["REQ"].required and got["ALT"].alternate == "on"
    assert got["OUT"].default == "${IN:-x}" and got["IN"].default == "x"
    assert got["J"].default == '{"k":1}'
    assert got["PLAIN"] == Variable("PLAIN")
