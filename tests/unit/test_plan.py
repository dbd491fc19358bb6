from compose.project.observe import Observed
from compose.project.plan import Action, plan_service


def obs(n, h="h1", status="running"):
    return Observed(f"id{n}", f"p-web-{n}", "web", n, False, h, status, None)


def actions(steps):
    return [(s.action, s.number) for s in steps]


def test_fresh_service_creates_every_replica():
    assert actions(plan_service([], 2, "h1")) == [(Action.CREATE, 1), (Action.CREATE, 2)]


def test_unchanged_running_is_noop_and_stopped_is_started():
    steps = plan_service([obs(1), obs(2, status="exited")], 2, "h1")
    assert actions(steps) == [(Action.NOOP, 1), (Action.START, 2)]


def test_changed_hash_recreates_with_reason():
    steps = plan_service([obs(1, h="old")], 1, "h1")
    assert actions(steps) == [(Action.RECREATE, 1)]
    assert steps[0].reason == "configuration changed"


def test_no_recreate_and_force_recreate():
    assert actions(plan_service([obs(1, h="old")], 1, "h1", no_recreate=True)) == \
        [(Action.NOOP, 1)]
    assert actions(plan_service([obs(1)], 1, "h1", force_recreate=True)) == \
        [(Action.RECREATE, 1)]


def test_scale_down_removes_highest_numbers():
    steps = plan_service([obs(1), obs(2), obs(3)], 1, "h1")
    assert actions(steps) == [(Action.NOOP, 1), (Action.REMOVE, 2), (Action.REMOVE, 3)]


def test_dependency_recreated():
    assert actions(plan_service([obs(1)], 1, "h1", dependency_recreated=True)) == \
        [(Action.RECREATE, 1)]


def test_changed_image_recreates():
    o = obs(1)
    steps = plan_service([o], 1, "h1", "sha256:new")
    # the fake Observed has no record: image_id is "" -> differs from the new image
    assert actions(steps) == [(Action.RECREATE, 1)] and steps[0].reason == "image changed"


def test_half_removed_container_is_recreated_even_with_no_recreate():
    steps = plan_service([obs(1, status="removing")], 1, "h1", no_recreate=True)
    assert actions(steps) == [(Action.RECREATE, 1)] and steps[0].reason == "left removing"
