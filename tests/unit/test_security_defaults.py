"""Docker's masked and read-only path lists."""

from __future__ import annotations

from runtime.security import defaults


def test_docker_lists():
    for p in ("/proc/kcore", "/proc/keys", "/proc/acpi", "/proc/asound", "/proc/interrupts",
              "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
              "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
              "/sys/devices/virtual/powercap"):
        assert p in defaults.MASKED_PATHS
    assert defaults.READONLY_PATHS == ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                       "/proc/sysrq-trigger")


def test_thermal_throttle_dirs_are_added(tmp_path):
    for cpu in ("cpu0", "cpu1"):
        (tmp_path / "devices/system/cpu" / cpu / "thermal_throttle").mkdir(parents=True)
    (tmp_path / "devices/system/cpu/cpu2").mkdir(parents=True)
    got = defaults.masked_paths(str(tmp_path))
    assert got[-2:] == ("/sys/devices/system/cpu/cpu0/thermal_throttle",
                        "/sys/devices/system/cpu/cpu1/thermal_throttle")


def test_for_container():
    assert defaults.for_container(privileged=True) == ((), ())
    masked, ro = defaults.for_container(privileged=False)
    assert "/proc/kcore" in masked and "/proc/sys" in ro
    assert defaults.for_container(False, masked=("/x",), readonly=()) == (("/x",), ())
