"""Variable substitution and word processing as Docker does it."""

import pytest

from runtime.build import instructions as ins
from runtime.build.dockerfile import parse_dockerfile
from runtime.build.expand import expand_heredoc, expand_instruction
from runtime.build.shellwords import ExpansionError, expand_word, expand_words, split_words

ENV = {"A": "alpha", "EMPTY": "", "SP": "x y", "PATHV": "/usr/local/bin:/usr/bin"}


@pytest.mark.parametrize("word,expected", [
    ("$A", "alpha"),
    ("${A}", "alpha"),
    ("pre${A}post", "prealphapost"),
    ("$UNSET", ""),
    ("${UNSET:-def}", "def"),
    ("${EMPTY:-def}", "def"),
    ("${EMPTY-def}", ""),
    ("${UNSET-def}", "def"),
    ("${A:-def}", "alpha"),
    ("${A:+alt}", "alt"),
    ("${EMPTY:+alt}", ""),
    ("${EMPTY+alt}", "alt"),
    ("${UNSET+alt}", ""),
    ("${UNSET:-$A}", "alpha"),
    ("${UNSET:-${A}x}", "alphax"),
    ("'$A'", "$A"),
    ('"$A"', "alpha"),
    ('"a\\"b"', 'a"b'),
    ('"a\\nb"', "a\\nb"),
    ("\\$A", "$A"),
    ("a\\ b", "a b"),
    ("$", "$"),
    ("a$", "a$"),
    ("$1x", "x"),
    ("${PATHV#*:}", "/usr/bin"),
    ("${PATHV##*/}", "bin"),
    ("${PATHV%:*}", "/usr/local/bin"),
    ("${PATHV%%/*}", ""),
    ('"${SP}"', "x y"),
])
def test_expand_word(word, expected):
    assert expand_word(word, ENV) == expected


def test_custom_escape_character():
    assert expand_word("`$A", ENV, escape="`") == "$A"
    assert expand_word("c:\\dir", ENV, escape="`") == "c:\\dir"


@pytest.mark.parametrize("word,msg", [
    ("'abc", "single-quote"),
    ('"abc', "double-quote"),
    ("${A", "matching }"),
    ("${}", "missing variable name"),
    ("${UNSET:?must be set}", "UNSET: must be set"),
    ("${A/x/y}", "unsupported modifier"),
])
def test_expand_errors(word, msg):
    with pytest.raises(ExpansionError, match=msg):
        expand_word(word, ENV)


def test_expand_words_splits_unquoted_only():
    assert expand_words("80 $SP '${SP}' \"a b\"", ENV) == ["80", "x", "y", "${SP}", "a b"]
    assert expand_words("  ", ENV) == []


def test_split_words_keeps_quotes():
    assert split_words('a="b c" d=e\\ f \'g h\'') == ['a="b c"', "d=e\\ f", "'g h'"]


def _stage_body(text):
    return parse_dockerfile(text).stages[0].instructions


def test_expand_instruction_substitutes_where_docker_does():
    env_i, copy_i, run_i, cmd_i, expose_i, label_i, wd_i, user_i = _stage_body(
        "FROM x\nENV B=$A C=\"${A} two\" D=${A:-z}\nCOPY --chown=$A:$A src/$A /dst/${A}/\n"
        "RUN echo $A\nCMD echo $A\nEXPOSE $PORTS\nLABEL \"k$A\"=\"v $A\"\n"
        "WORKDIR /w/$A\nUSER ${A}\n")
    look = {"A": "alpha", "PORTS": "80 443"}.get
    assert expand_instruction(env_i, look).pairs == (("B", "alpha"), ("C", "alpha two"),
                                                      ("D", "alpha"))
    c = expand_instruction(copy_i, look)
    assert c.chown == "alpha:alpha" and c.sources == ("src/alpha",) and c.dest == "/dst/alpha/"
    assert expand_instruction(run_i, look) is run_i
    assert expand_instruction(cmd_i, look) is cmd_i
    assert expand_instruction(expose_i, look).ports == ("80", "443")
    assert expand_instruction(label_i, look).pairs == (("kalpha", "v alpha"),)
    assert expand_instruction(wd_i, look).path == "/w/alpha"
    assert expand_instruction(user_i, look).user == "alpha"


def test_env_pairs_see_values_from_before_the_line():
    (env_i,) = _stage_body("FROM x\nENV A=new B=$A\n")
    assert expand_instruction(env_i, {"A": "old"}.get).pairs == (("A", "new"), ("B", "old"))


def test_expansion_error_names_the_line():
    (_, env_i) = _stage_body("FROM x\nRUN true\nENV A=\"unterminated\n")
    from runtime.errors import InvalidInputError
    with pytest.raises(InvalidInputError, match=r"^Dockerfile:3: .*double-quote"):
        expand_instruction(env_i, {}.get)


def test_heredoc_expansion_respects_quoting():
    doc = ins.Heredoc("EOF", 'x=$A "${A}" \\$A\n')
    assert expand_heredoc(doc, ENV.get) == 'x=alpha "alpha" $A\n'
    quoted = ins.Heredoc("EOF", "x=$A\n", expand=False)
    assert expand_heredoc(quoted, ENV.get) == "x=$A\n"
