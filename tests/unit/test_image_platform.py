from runtime.images.platform import Platform, select_manifest


def idx(*plats):
    return {"manifests": [{"digest": f"d{i}", "platform": p} for i, p in enumerate(plats)]}


def test_select_skips_attestations_and_matches_os_arch():
    index = idx({"os": "unknown", "architecture": "unknown"},
                {"os": "linux", "architecture": "arm64", "variant": "v8"},
                {"os": "linux", "architecture": "amd64"},
                {"os": "windows", "architecture": "amd64"})
    assert select_manifest(index, Platform("linux", "amd64"))["digest"] == "d2"
    assert select_manifest(index, Platform("linux", "arm64", "v8"))["digest"] == "d1"
    assert select_manifest(index, Platform("linux", "s390x")) is None


def test_variant_preference():
    index = idx({"os": "linux", "architecture": "arm", "variant": "v6"},
                {"os": "linux", "architecture": "arm", "variant": "v7"},
                {"os": "linux", "architecture": "arm64"})
    assert select_manifest(index, Platform("linux", "arm", "v7"))["digest"] == "d1"
    assert select_manifest(index, Platform("linux", "arm64", "v8"))["digest"] == "d2"
    assert select_manifest(index, Platform("linux", "arm"))["digest"] == "d0"


def test_parse():
    assert Platform.parse("linux/arm/v7") == Platform("linux", "arm", "v7")
    assert str(Platform.parse("Linux/AMD64")) == "linux/amd64"
