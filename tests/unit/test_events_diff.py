from compose.project.events import diff


def st(status, health=None, code=None, restarts=0):
    return (status, health, "p-web-1", "web", "img", code, restarts)


def actions(before, after):
    return [e.action for e in diff(before, after, 0.0)]


def test_lifecycle_actions():
    assert actions({}, {"a": st("created")}) == ["create"]
    assert actions({}, {"a": st("running")}) == ["create", "start"]
    assert actions({"a": st("created")}, {"a": st("running")}) == ["start"]
    assert actions({"a": st("running")}, {"a": st("exited", code=3)}) == ["die"]
    assert actions({"a": st("running")}, {"a": st("paused")}) == ["pause"]
    assert actions({"a": st("paused")}, {"a": st("running")}) == ["unpause"]
    assert actions({"a": st("exited")}, {}) == ["destroy"]


def test_restart_and_health():
    assert actions({"a": st("running")}, {"a": st("running", restarts=1)}) == ["die", "start"]
    assert actions({"a": st("running", "starting")}, {"a": st("running", "healthy")}) == \
        ["health_status: healthy"]
    die = diff({"a": st("running")}, {"a": st("exited", code=7)}, 0.0)[0]
    assert die.exit_code == 7
