"""Episode 00 runs the way its README says, and produces what it promises."""

from __future__ import annotations

from pathlib import Path

EPISODE = Path(__file__).resolve().parents[2] / "tutorials" / "00-hello"


def test_tutorial_00_hello(run_flow):
    result = run_flow(EPISODE / "hello.py", "run")
    assert result.returncode == 0, result.output
    for name in ("Ada", "Grace", "Katherine"):
        assert f"Hello, {name}!" in result.stdout
    assert "3 greetings, 41 letters" in result.stdout
    store = run_flow.store("HelloFlow")
    [join_task] = store.tasks("1", "join")
    manifest = store.read_manifest("1", "join", join_task)
    assert store.load_artifact(manifest.artifacts["messages"]) == [
        "Hello, Ada!",
        "Hello, Grace!",
        "Hello, Katherine!",
    ]
    shown = run_flow(EPISODE / "hello.py", "show")
    assert "One task per name" in shown.stdout


def test_tutorial_00_hello_parameter(run_flow):
    result = run_flow(EPISODE / "hello.py", "run", "--greeting", "Hi")
    assert result.returncode == 0, result.output
    assert "Hi, Ada!" in result.stdout
