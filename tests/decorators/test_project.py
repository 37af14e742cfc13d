"""``@project``: branches chosen on the real command line, seen in ``current`` and the client."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from flowtests import FLOWS, FlowRunner

from flowkit.client import ClientContext
from flowkit.decorators.project import (
    ProjectDecorator,
    ProjectError,
    ProjectInfo,
    branch_name,
    deployment_name,
    name_problem,
)
from flowkit.decorators.resolve import step_decorators
from flowkit.errors import TagError

PROJECT = FLOWS / "project" / "projectflow.py"

#: (options before `run`, branch, is_production), run in this order: run ids 1..4.
CASES = [
    ((), "user.ada", False),
    (("--branch", "better_version"), "test.better_version", False),
    (("--production",), "prod", True),
    (("--branch", "better_version", "--production"), "prod.better_version", True),
]


@pytest.fixture(scope="module")
def project_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[FlowRunner, list]:
    work = tmp_path_factory.mktemp("project")
    runner = FlowRunner(work / "datastore", work)
    results = [runner(PROJECT, *options, "run", FLOWKIT_USER="ada") for options, _, _ in CASES]
    return runner, results


def _expected(branch: str, production: bool) -> dict:
    return {
        "project_name": "fraud_model",
        "branch_name": branch,
        "is_production": production,
        "project_flow_name": f"fraud_model.{branch}.ProjectFlow",
    }


@pytest.mark.parametrize("index", range(len(CASES)))
def test_each_branch_is_seen_by_every_task_and_recorded_as_system_tags(project_runs, index):
    runner, results = project_runs
    _, branch, production = CASES[index]
    assert results[index].returncode == 0, results[index].output
    assert f"branch: {branch}" in results[index].stdout

    run = ClientContext(str(runner.root)).run(f"ProjectFlow/{index + 1}")

    assert run.data.seen_start == run.data.seen_end == _expected(branch, production)
    assert run.system_tags == {"user:ada", "project:fraud_model", f"project_branch:{branch}"}
    assert run.user_tags == frozenset()


def test_the_client_filters_runs_by_project_and_branch(project_runs):
    runner, _ = project_runs
    root = str(runner.root)
    flow = ClientContext(root).flow("ProjectFlow")

    assert [r.id for r in flow.runs("project_branch:prod")] == ["3"]
    assert [r.id for r in flow.runs("project:fraud_model")] == ["4", "3", "2", "1"]
    production = ClientContext(root, namespace="project_branch:prod.better_version")
    assert production.flow("ProjectFlow").latest_run.id == "4"
    mine = ClientContext(root, namespace="project_branch:user.ada")
    assert [r.id for r in mine.flow("ProjectFlow")] == ["1"]


def test_flowkit_runs_lists_a_branch_by_its_tag(project_runs, monkeypatch):
    from click.testing import CliRunner

    from flowkit.cli.main import cli

    runner, _ = project_runs
    monkeypatch.setenv("FLOWKIT_DATASTORE_ROOT", str(runner.root))
    args = ["runs", "ProjectFlow", "--tag", "project_branch:test.better_version", "--json"]
    result = CliRunner().invoke(cli, args)

    assert result.exit_code == 0, result.output
    [listed] = json.loads(result.stdout)
    assert listed["run_id"] == "2"
    assert "project:fraud_model" in listed["tags"]


def test_project_tags_are_system_tags_users_cannot_change(project_runs):
    runner, _ = project_runs
    run = ClientContext(str(runner.root)).run("ProjectFlow/3")
    for tag in ("project:fraud_model", "project_branch:prod"):
        with pytest.raises(TagError, match="system tag"):
            run.remove_tag(tag)
    with pytest.raises(TagError, match="system tag"):
        run.add_tag("project_branch:prod.other")


def test_spawned_tasks_read_the_branch_from_the_run_record(run_flow):
    result = run_flow(PROJECT, "--production", "run", "--launcher", "spawn", FLOWKIT_USER="ada")

    assert result.returncode == 0, result.output
    run = ClientContext(str(run_flow.root)).run("ProjectFlow/1")
    assert run.data.seen_start == run.data.seen_end == _expected("prod", True)


def test_a_resume_runs_on_the_branch_its_own_command_line_chooses(run_flow):
    assert run_flow(PROJECT, "run", FLOWKIT_USER="ada").returncode == 0

    result = run_flow(PROJECT, "--branch", "hotfix", "resume", "end", FLOWKIT_USER="ada")

    assert result.returncode == 0, result.output
    run = ClientContext(str(run_flow.root)).run("ProjectFlow/2")
    assert "project_branch:test.hotfix" in run.system_tags
    assert run.data.seen_end["branch_name"] == "test.hotfix"
    assert run.data.seen_start["branch_name"] == "user.ada"  # cloned from run 1


def test_a_bad_branch_is_refused_before_anything_runs(run_flow):
    result = run_flow(PROJECT, "--branch", "Better-Version", "run")

    assert result.returncode == 2, result.output
    assert "flowkit: bad project branch: the branch name 'Better-Version' may only contain" in (
        result.stderr
    )
    assert "Fix: e.g. --branch better_version" in result.stderr
    assert not (run_flow.root / "ProjectFlow").exists()


def _flow_file(tmp_path: Path, decorator: str, name: str = "Declared") -> Path:
    path = tmp_path / f"{name.lower()}.py"
    path.write_text(
        textwrap.dedent(
            f"""
            from flowkit import FlowSpec, current, project, step

            DECORATOR
            class {name}Flow(FlowSpec):
                @step
                def start(self):
                    print("branch:", current.branch_name)
                    self.next(self.end)

                @step
                def end(self):
                    pass

            if __name__ == "__main__":
                {name}Flow()
            """
        ).replace("DECORATOR", decorator)
    )
    return path


def test_branch_and_production_may_be_declared_but_not_also_given(run_flow, tmp_path):
    flow = _flow_file(tmp_path, '@project(name="fraud", branch="fixed", production=True)')

    declared = run_flow(flow, "run")
    twice = run_flow(flow, "--branch", "other", "run")
    prod_twice = run_flow(flow, "--production", "run")

    assert declared.returncode == 0, declared.output
    assert "branch: prod.fixed" in declared.stdout
    assert twice.returncode == 2
    assert "the branch is given twice" in twice.stderr and "Fix: drop --branch" in twice.stderr
    assert prod_twice.returncode == 2
    assert "production is chosen twice" in prod_twice.stderr


def test_a_bad_project_name_is_a_definition_error_with_the_flow_line(run_flow, tmp_path):
    flow = _flow_file(tmp_path, '@project(name="Fraud Model")')

    result = run_flow(flow, "check")

    assert result.returncode == 2, result.output
    assert f"{flow.name}:" in result.stderr
    assert "the project name 'Fraud Model' may only contain lowercase letters" in result.stderr
    assert 'Fix: e.g. @project(name="fraud_model")' in result.stderr


def test_project_twice_is_refused(run_flow, tmp_path):
    flow = _flow_file(tmp_path, '@project(name="a")\n@project(name="b")')

    for command in ("check", "run"):
        result = run_flow(flow, command)
        assert result.returncode == 2, result.output
        assert "@project appears 2 times" in result.stderr


def test_check_refuses_a_bad_branch_too(run_flow):
    result = run_flow(PROJECT, "--branch", "a.b", "check")

    assert result.returncode == 2, result.output
    assert "Fix: e.g. --branch a_b" in result.stderr
    assert "is valid" not in result.stdout


def test_branch_options_exist_only_for_project_flows(run_flow):
    result = run_flow(FLOWS / "params.py", "--branch", "x", "run")

    assert result.returncode == 2
    assert "--branch" in result.stderr


# -- names, as deployers use them ------------------------------------------------------------


@pytest.mark.parametrize(
    "branch, production, expected",
    [
        (None, False, "user.ada"),
        ("ab_test", False, "test.ab_test"),
        (None, True, "prod"),
        ("ab_test", True, "prod.ab_test"),
    ],
)
def test_branch_names_follow_metaflows_rules(branch, production, expected):
    assert branch_name(branch, production, "ada") == expected
    info = ProjectDecorator(name="fraud").project("TrainFlow", "ada", branch, production)
    assert info == ProjectInfo("fraud", expected, "TrainFlow")
    assert info.is_production is production
    assert deployment_name("TrainFlow", info) == f"fraud.{expected}.TrainFlow"


def test_a_flow_without_project_deploys_under_its_own_name():
    assert deployment_name("TrainFlow", None) == "TrainFlow"


def test_project_info_round_trips_through_the_run_tags():
    info = ProjectInfo("fraud", "prod.ab", "TrainFlow")
    assert ProjectInfo.from_tags(["user:ada", *info.system_tags()], "TrainFlow") == info
    assert ProjectInfo.from_tags(["user:ada", "project:fraud"], "TrainFlow") is None


@pytest.mark.parametrize(
    "value, problem",
    [
        ("fraud_2", ""),
        ("", "non-empty string"),
        (None, "non-empty string"),
        ("a" * 129, "129 characters long"),
        ("fraud.model", "may only contain"),
        ("Fraud", "may only contain"),
    ],
)
def test_name_rules(value, problem):
    found = name_problem("project name", value)
    assert (problem in found) if problem else found == ""


def test_a_bad_branch_through_the_api_is_a_project_error():
    with pytest.raises(ProjectError) as info:
        ProjectDecorator(name="fraud").project("TrainFlow", "ada", "a/b")
    assert info.value.exit_code == 2
    assert info.value.hint == "e.g. --branch a_b"


def test_project_is_a_registered_flow_decorator_importable_from_flowkit():
    import flowkit

    assert step_decorators().get("flow", "project") is ProjectDecorator
    assert "project" in flowkit.__all__
