from runtime.errors import ExitCode


def test_version(run_cli):
    res = run_cli("version")
    assert res.returncode == 0, res
    assert res.stdout.startswith("pycompose version v")


def test_unknown_command_is_usage_error(run_cli):
    res = run_cli("no-such-command")
    assert res.returncode == ExitCode.USAGE, res
    assert "No such command" in res.stderr
    assert "Traceback" not in res.stderr


def test_help_lists_commands_without_importing_them(run_cli):
    res = run_cli("--help")
    assert res.returncode == 0, res
    assert "version" in res.stdout
