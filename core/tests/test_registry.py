from __future__ import annotations

import types

import pytest

import attnzoo
from attnzoo import hookimpl
from attnzoo.errors import (
    DuplicateNameError,
    PluginError,
    UnavailableNameError,
    UnknownNameError,
)
from attnzoo.plugins import get_host, reset
from attnzoo.specs import ModelSpec


def test_list_models_and_presets():
    assert "tiny" in attnzoo.list_models()
    assert "tiny.wide" in attnzoo.list_models(presets=True)
    assert attnzoo.list_models("ti*", framework="torch") == ["tiny"]
    assert attnzoo.list_models(framework="tensorflow") == []


def test_model_info_is_lazy_and_complete():
    info = attnzoo.model_info("tiny.wide")
    assert info["preset"] == "wide"
    assert info["presets"]["wide"]["model"] == {"d_model": 32}
    assert info["plugin"] == "tinyplugin"


def test_create_model_with_preset_and_overrides():
    model = attnzoo.create_model("tiny.wide", vocab_size=10, num_classes=4)
    assert model.embed.weight.shape == (10, 32)
    assert model.head.out_features == 4


def test_unknown_model_suggests_close_matches_and_lists_failures():
    def broken(registry):
        raise RuntimeError("boom")

    get_host().register(types.SimpleNamespace(register_models=hookimpl(broken)), "brokenplug")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ATTNZOO_STRICT_PLUGINS", "0")
        from attnzoo import registry

        registry.reset()
        # not UnknownNameError: a model folder's loader would then call the plugin "not
        # installed", while it is installed and broken
        with pytest.raises(UnavailableNameError) as err:
            attnzoo.create_model("tinyy")
    msg = str(err.value)
    assert "Did you mean 'tiny'" in msg
    assert "Installed models: tiny" in msg
    assert "brokenplug" in msg and "boom" in msg and "Installed but failed to load" in msg
    assert "not installed" not in msg and "may need its package" not in msg


def test_unknown_preset():
    with pytest.raises(UnknownNameError, match="no preset 'wdie'.*tiny.wide"):
        attnzoo.create_model("tiny.wdie")


def test_broken_hook_strict_mode_raises():
    def broken(registry):
        raise RuntimeError("boom")

    get_host().register(types.SimpleNamespace(register_models=hookimpl(broken)), "brokenplug")
    from attnzoo import registry

    registry.reset()
    with pytest.raises(PluginError, match="brokenplug"):
        attnzoo.list_models()


def test_duplicate_names_name_both_plugins(monkeypatch):
    def dup(registry):
        registry.add(ModelSpec("tiny", "x:y", "x:z"))

    get_host().register(
        types.SimpleNamespace(register_models=hookimpl(dup)), "dupplug", "attnzoo-dup"
    )
    with pytest.raises(DuplicateNameError) as err:
        attnzoo.list_models()
    assert "tinyplugin" in str(err.value) and "attnzoo-dup" in str(err.value)


def test_misspelt_hook_is_rejected():
    @hookimpl
    def register_modles(registry):  # the typo pluggy's check_pending catches
        pass

    with pytest.raises(PluginError, match="register_modles"):
        get_host().register(types.SimpleNamespace(register_modles=register_modles), "typo")


def test_allow_and_deny_lists(monkeypatch):
    monkeypatch.setenv("ATTNZOO_LOAD_PLUGINS", "")
    reset()
    names = [p["name"] for p in attnzoo.list_plugins()]
    assert names == ["attnzoo-core"]  # built-ins always load; entry points filtered
    import importlib.metadata as md

    installed = [ep.name for ep in md.entry_points(group="attnzoo.plugins")]
    monkeypatch.delenv("ATTNZOO_LOAD_PLUGINS")
    monkeypatch.setenv("ATTNZOO_DISABLE_PLUGINS", ",".join([*installed, "whatever"]))
    reset()
    assert [p["name"] for p in attnzoo.list_plugins()] == ["attnzoo-core"]


def test_core_registers_through_the_front_door():
    plugins = {p["name"]: p for p in attnzoo.list_plugins()}
    assert {"register_trainers", "register_metrics"} <= set(plugins["attnzoo-core"]["hooks"])
    assert "accuracy" in attnzoo.list_metrics()
