"""Dockerfile parser: lines, directives, heredocs, forms, flags, stages, errors."""

import pytest

from runtime.build import instructions as ins
from runtime.build.dockerfile import parse_dockerfile
from runtime.errors import InvalidInputError


def one_stage(text: str) -> tuple[ins.Instruction, ...]:
    df = parse_dockerfile(text)
    assert len(df.stages) == 1
    return df.stages[0].instructions


def test_continuations_comments_and_blank_lines():
    body = one_stage(
        "FROM busybox\n"
        "# a comment\n"
        "RUN echo a \\\n"
        "  # comment inside a continuation is dropped\n"
        "\n"
        "    && echo b \\   \n"
        "    && echo c\n"
        "   ENV A=1\n"
    )
    run, env = body
    assert isinstance(run, ins.Run)
    assert run.command == ("echo a     && echo b     && echo c",)
    assert run.shell_form and (run.line, run.end_line) == (3, 7)
    assert env.line == 8 and env.pairs == (("A", "1"),)


def test_directives_escape_and_syntax():
    df = parse_dockerfile("# syntax=docker/dockerfile:1\n# escape=`\nFROM x\nRUN dir `\n c:\\\n")
    assert dict(df.directives) == {"syntax": "docker/dockerfile:1", "escape": "`"}
    assert df.escape == "`"
    assert df.stages[0].instructions[0].command == ("dir  c:\\",)


def test_directive_after_comment_is_just_a_comment():
    df = parse_dockerfile("# hello\n# escape=`\nFROM x\nRUN a \\\n b\n")
    assert df.escape == "\\"
    assert df.stages[0].instructions[0].command == ("a  b",)


def test_duplicate_directive_is_an_error():
    with pytest.raises(InvalidInputError, match=r"Dockerfile:2: only one escape"):
        parse_dockerfile("# escape=`\n# escape=\\\nFROM x\n")


def test_json_and_shell_forms():
    run_exec, run_shell, cmd, ep, bad_json = one_stage(
        'FROM x\nRUN ["echo", "a b"]\nRUN echo "a b"\nCMD ["sleep","1"]\n'
        'ENTRYPOINT top -b\nCMD [not json]\n')
    assert run_exec.command == ("echo", "a b") and not run_exec.shell_form
    assert run_shell.command == ('echo "a b"',) and run_shell.shell_form
    assert cmd.command == ("sleep", "1") and not cmd.shell_form
    assert ep.command == ("top -b",) and ep.shell_form
    assert bad_json.shell_form and bad_json.command == ("[not json]",)


def test_heredocs_run_single_multiple_and_chomp():
    body = one_stage(
        "FROM x\n"
        "RUN <<EOF\n"
        "echo one\n"
        "echo two\n"
        "EOF\n"
        "RUN cat <<A >a && cat <<-'B' >b\n"
        "alpha $X\n"
        "A\n"
        "\tbeta $X\n"
        "\tB\n"
        "ENV Z=1\n"
    )
    r1, r2, env = body
    assert r1.heredocs == (ins.Heredoc("EOF", "echo one\necho two\n"),)
    assert r1.command == ("<<EOF",)
    a, b = r2.heredocs
    assert (a.name, a.content, a.expand, a.chomp) == ("A", "alpha $X\n", True, False)
    assert (b.name, b.content, b.expand, b.chomp) == ("B", "beta $X\n", False, True)
    assert env.line == 11


def test_heredoc_copy_source():
    (copy,) = one_stage('FROM x\nCOPY --chmod=755 <<"EOF" /usr/bin/hello\n'
                        '#!/bin/sh\necho hi\nEOF\n')
    assert isinstance(copy, ins.Copy)
    assert copy.sources == ("<<EOF",) and copy.dest == "/usr/bin/hello"
    assert copy.heredocs[0].content == "#!/bin/sh\necho hi\n"
    assert copy.heredocs[0].expand is False and copy.chmod == "755"


def test_unterminated_heredoc():
    with pytest.raises(InvalidInputError, match=r"Dockerfile:2: unterminated heredoc <<EOF"):
        parse_dockerfile("FROM x\nRUN <<EOF\necho\n")


def test_heredoc_only_for_run_copy_add():
    (env,) = one_stage("FROM x\nENV A=<<EOF\n")
    assert env.pairs == (("A", "<<EOF"),)


def test_copy_add_flags():
    cp, ad = one_stage(
        "FROM x\n"
        "COPY --from=build --chown=1:2 --chmod=0640 --link a b* /dst/\n"
        "ADD --checksum=sha256:abc --keep-git-dir=true http://h/x.tar /opt/\n")
    assert cp.from_ == "build" and cp.chown == "1:2" and cp.chmod == "0640" and cp.link
    assert cp.sources == ("a", "b*") and cp.dest == "/dst/"
    assert ad.checksum == "sha256:abc" and ad.keep_git_dir and ad.sources == ("http://h/x.tar",)


def test_copy_json_form():
    (cp,) = one_stage('FROM x\nCOPY ["a b", "c", "/d e/"]\n')
    assert cp.sources == ("a b", "c") and cp.dest == "/d e/"


def test_run_flags_repeatable_mount():
    (run,) = one_stage("FROM x\nRUN --mount=type=cache,target=/a --mount=type=tmpfs,target=/b "
                       "--network=none echo hi\n")
    assert run.mounts == ("type=cache,target=/a", "type=tmpfs,target=/b")
    assert run.network == "none" and run.command == ("echo hi",)


@pytest.mark.parametrize("text,msg", [
    ("FROM x\nCOPY --bogus=1 a b\n", r"Dockerfile:2: unknown flag: --bogus for COPY"),
    ("FROM x\nCOPY --from a b\n", r"Dockerfile:2: missing a value on flag: --from"),
    ("FROM x\nCOPY a\n", r"Dockerfile:2: COPY requires at least two arguments"),
    ("FROM x\nCOPY --chown=1 --chown=2 a b\n", r"duplicate flag specified: --chown"),
    ("FROM x\nFOO bar\n", r"Dockerfile:2: unknown instruction: FOO"),
    ("RUN x\n", r"Dockerfile:1: RUN before the first FROM"),
    ("ARG A\n", r"no FROM instruction"),
    ("# only a comment\n", r"no instructions"),
    ("FROM a b\n", r"FROM requires either one or three arguments"),
    ("FROM a AS 1x\n", r"invalid name for build stage"),
    ("FROM a AS s\nFROM b AS S\n", r"Dockerfile:2: duplicate stage name 's'"),
    ("FROM a\nENV A\n", r"ENV must have two arguments"),
    ("FROM a\nENV A=1 B\n", r"can't find = in 'B'"),
    ("FROM a\nENV =1\n", r"ENV names can not be blank"),
    ("FROM a\nSHELL /bin/bash -c\n", r"SHELL requires the arguments to be in JSON form"),
    ("FROM a\nHEALTHCHECK --interval=5 CMD true\n", r"invalid duration '5'"),
    ("FROM a\nHEALTHCHECK FOO true\n", r"unknown type 'FOO' in HEALTHCHECK"),
    ("FROM a\nONBUILD FROM b\n", r"FROM isn't allowed as an ONBUILD trigger"),
    ("FROM a\nWORKDIR\n", r"WORKDIR requires at least one argument"),
])
def test_errors_name_the_line(text, msg):
    with pytest.raises(InvalidInputError, match=msg) as info:
        parse_dockerfile(text)
    assert info.value.message.startswith("Dockerfile:")


def test_error_uses_given_filename():
    with pytest.raises(InvalidInputError, match=r"^app\.Dockerfile:1: "):
        parse_dockerfile("BOGUS\n", "app.Dockerfile")


def test_env_label_arg_forms():
    env_new, env_old, label, arg = one_stage(
        'FROM x\nENV A=1 B="two words" C=a\\ b\nENV D value with spaces\n'
        'LABEL "com.x"="y" k=v\nARG X Y=2 Z=\n')
    assert env_new.pairs == (("A", "1"), ("B", '"two words"'), ("C", "a\\ b"))
    assert env_old.pairs == (("D", "value with spaces"),)
    assert label.pairs == (('"com.x"', '"y"'), ("k", "v"))
    assert arg.pairs == (("X", None), ("Y", "2"), ("Z", ""))


def test_metadata_instructions():
    body = one_stage(
        "FROM x\nWORKDIR /app\nUSER 1000:1000\nEXPOSE 80 443/tcp 53/udp\n"
        'VOLUME ["/data", "/logs"]\nVOLUME /a /b\nSTOPSIGNAL SIGTERM\n'
        'SHELL ["/bin/bash", "-o", "pipefail", "-c"]\nMAINTAINER me\n'
        "HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=2s "
        "--start-interval=1s --retries=3 CMD curl -f http://localhost/\n"
        'HEALTHCHECK CMD ["true"]\nHEALTHCHECK NONE\nONBUILD RUN echo hi\n')
    (wd, user, expose, vol1, vol2, sig, shell, maint, hc, hc2, hc3, onb) = body
    assert wd.path == "/app" and user.user == "1000:1000"
    assert expose.ports == ("80", "443/tcp", "53/udp")
    assert vol1.paths == ("/data", "/logs") and vol2.paths == ("/a", "/b")
    assert sig.signal == "SIGTERM" and shell.shell == ("/bin/bash", "-o", "pipefail", "-c")
    assert maint.name == "me"
    assert hc.test == ("CMD-SHELL", "curl -f http://localhost/")
    assert hc.interval == 90_000_000_000 and hc.timeout == 500_000_000
    assert hc.start_period == 2_000_000_000 and hc.start_interval == 1_000_000_000
    assert hc.retries == 3
    assert hc2.test == ("CMD", "true") and hc3.test == ("NONE",)
    assert onb.expression == "RUN echo hi" and isinstance(onb.trigger, ins.Run)


def test_stages_meta_args_and_lookup():
    df = parse_dockerfile(
        "ARG BASE=busybox\nARG V\n"
        "FROM --platform=linux/amd64 $BASE AS Build\nRUN make\n"
        "FROM scratch\nCOPY --from=build /out /\n")
    assert [a.pairs for a in df.meta_args] == [(("BASE", "busybox"),), (("V", None),)]
    b, final = df.stages
    assert b.name == "build" and b.from_.image == "$BASE" and b.from_.platform == "linux/amd64"
    assert final.name is None and final.index == 1
    assert df.stage("build") is b and df.stage("1") is final and df.stage("nope") is None


def test_crlf_and_bom():
    df = parse_dockerfile("\ufeffFROM x\r\nRUN a \\\r\n b\r\n")
    assert df.stages[0].instructions[0].command == ("a  b",)


def test_case_insensitive_keywords():
    (run,) = one_stage("from x\nrun echo\n")
    assert isinstance(run, ins.Run)


def test_agrees_with_dockerfile_parse_on_plain_files():
    dfp = pytest.importorskip("dockerfile_parse")
    text = ("FROM busybox AS a\nRUN echo a \\\n && echo b\n# c\nENV X=1 Y=2\n"
            "COPY a /b\nCMD [\"sh\"]\nLABEL a=b\nEXPOSE 80\n")
    parser = dfp.DockerfileParser(fileobj=__import__("io").BytesIO(text.encode()))
    theirs = [(i["instruction"], i["startline"] + 1) for i in parser.structure
              if i["instruction"] != "COMMENT"]
    df = parse_dockerfile(text)
    ours = [("FROM", df.stages[0].from_.line)] + [(i.keyword, i.line)
                                                   for i in df.stages[0].instructions]
    assert ours == theirs
