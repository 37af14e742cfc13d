"""The Airflow deployer's pure parts, without Airflow: run ids, task ids, stages, cron."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from flowtests import SHAPE_CASES

from flowkit import FlowSpec, schedule, step, trigger
from flowkit.extend import FlowDefinitionError, flow_decorators, load_graph
from flowkit_airflow.dagfile import DagOptions, build_dag_file, stages
from flowkit_airflow.schedules import dag_schedule, unix_cron, watched_location
from flowkit_airflow.task import flowkit_run_id, format_path, parse_path, task_id_for


def _flow_class(case: str) -> type:
    shape = SHAPE_CASES[case]
    sys.path.insert(0, str(shape.file.parent))
    try:
        spec = importlib.util.spec_from_file_location(f"airflow_unit_{case}", shape.file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(shape.file.parent))
    return getattr(module, shape.flow)


def test_airflow_run_ids_are_sanitised_and_deterministic() -> None:
    dag_run = "manual__2026-12-02T16:03:11.083050+00:00"
    assert flowkit_run_id(dag_run) == "airflow-manual__2026-12-02T16_03_11.083050_00_00"
    assert flowkit_run_id(dag_run) == flowkit_run_id(dag_run)
    assert flowkit_run_id("a/b c") == "airflow-a_b_c"


def test_airflow_task_ids_name_the_foreach_indexes() -> None:
    assert task_id_for("start", "") == "start"
    assert task_id_for("inner", "0-2") == "inner-0-2"
    assert parse_path("0-2") == (0, 2) and parse_path("") == ()
    assert format_path((1, 0, 3)) == "1-0-3"


def test_airflow_stages_of_nested_foreach() -> None:
    graph = load_graph(_flow_class("nested_foreach"))
    found = [(s.scope, s.index, s.steps) for s in stages(graph)]
    assert found == [
        (None, 0, ["start"]),
        ("start", 0, ["outer"]),
        ("outer", 0, ["inner"]),
        ("start", 1, ["inner_join"]),
        (None, 1, ["outer_join", "end"]),
    ]


def test_airflow_stages_keep_a_switch_in_one_group() -> None:
    graph = load_graph(_flow_class("switch_in_foreach"))
    groups = {s.group_id: s.steps for s in stages(graph) if s.scope}
    assert groups == {"start_splits": ["process_item", "handle_a", "handle_b"]}


def test_airflow_dag_file_pins_code_and_root() -> None:
    flow_cls = _flow_class("foreach")
    graph = load_graph(flow_cls)
    options = DagOptions("ForeachFlow", "foreach.py", "c0de" * 16, "s3://bucket/root")
    text = build_dag_file(graph, {}, options)
    compile(text, "dag.py", "exec")  # valid Python
    assert '"code": "' + "c0de" * 16 + '"' in text
    assert '"root": "s3://bucket/root"' in text
    assert "from airflow.sdk import DAG, Param, task, task_group" in text
    with pytest.raises(FlowDefinitionError, match="not a valid Airflow DAG id"):
        build_dag_file(graph, {}, DagOptions("bad id!", "f.py", "x", "/r"))


@pytest.mark.parametrize(
    ("kwargs", "cron"),
    [
        ({"daily": True}, "0 0 * * *"),
        ({"hourly": True}, "0 * * * *"),
        ({"weekly": True}, "0 0 * * SUN"),
        ({"cron": "15 6 * * 1-5"}, "15 6 * * 1-5"),
        ({"cron": "0 6 ? * MON-FRI *"}, "0 6 * * MON-FRI"),
    ],
)
def test_airflow_schedule_as_unix_cron(kwargs: dict, cron: str) -> None:
    @schedule(**kwargs)
    class Scheduled(FlowSpec):
        @step
        def start(self):
            self.next(self.end)

        @step
        def end(self):
            pass

    [deco] = flow_decorators(Scheduled)
    assert unix_cron(deco) == cron
    source, imports = dag_schedule([deco])
    assert source == f"CronTriggerTimetable({cron!r}, timezone='UTC')"
    assert any("CronTriggerTimetable" in line for line in imports)


def test_airflow_refuses_aws_only_cron_and_a_trigger_beside_a_schedule() -> None:
    @schedule(cron="0 6 ? * 2 *")
    @trigger(s3="s3://bucket/incoming/")
    class Odd(FlowSpec):
        @step
        def start(self):
            self.next(self.end)

        @step
        def end(self):
            pass

    decorators = flow_decorators(Odd)
    scheduled = next(d for d in decorators if d.name == "schedule")
    with pytest.raises(FlowDefinitionError, match="AWS-only"):
        unix_cron(scheduled)
    with pytest.raises(FlowDefinitionError, match="cannot be combined with @schedule"):
        dag_schedule(decorators)
    polled, _ = dag_schedule([d for d in decorators if d.name == "trigger"], None, 30)
    assert polled == "datetime.timedelta(seconds=30)"
    watched = watched_location(decorators)
    assert watched == {"kind": "s3", "url": "s3://bucket/incoming/", "suffix": "", "parameters": {}}


def test_airflow_batch_steps_need_an_s3_datastore() -> None:
    from flowkit import batch
    from flowkit.extend import resolve_step_decorators

    class OnBatch(FlowSpec):
        @step
        def start(self):
            self.next(self.train)

        @batch(cpu=1)
        @step
        def train(self):
            self.next(self.end)

        @step
        def end(self):
            pass

    graph = load_graph(OnBatch)
    decorators = resolve_step_decorators(OnBatch, graph, ())
    local = DagOptions("OnBatch", "f.py", "c0de" * 16, "/home/me/.flowkit")
    with pytest.raises(FlowDefinitionError, match=r"'train' has @batch.*not on S3"):
        build_dag_file(graph, decorators, local)
    on_s3 = DagOptions("OnBatch", "f.py", "c0de" * 16, "s3://bucket/root")
    compile(build_dag_file(graph, decorators, on_s3), "dag.py", "exec")
