"""``python FLOW.py airflow ...``: the flow command this plugin adds (``flowcommand.airflow``).

* ``create [DAG_FILE]`` uploads the flow's code snapshot to the datastore and writes one DAG
  file (default: ``$AIRFLOW_HOME/dags/<dag id>.py``) that runs it;
* ``trigger [--PARAM VALUE ...]`` starts a run of that DAG: by default with ``airflow dags
  test`` (the DAG runs to its end in this command, no scheduler needed: a local Airflow), with
  ``--scheduler`` through ``airflow dags trigger`` (the configured Airflow's scheduler runs it).
  The ``airflow`` command is the ``airflow_bin`` setting; it finds its installation through
  ``AIRFLOW_HOME``.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from pathlib import Path
from typing import Any

import click

from flowkit import Parameter
from flowkit.extend import (
    FlowkitError,
    build_snapshot,
    catalog_for_run,
    flow_parameters,
    store_deployed_catalog,
)
from flowkit_airflow.dagfile import DagOptions, build_dag_file
from flowkit_airflow.schedules import dag_schedule, finish_outlets, watched_location
from flowkit_airflow.task import RUN_PREFIX, flowkit_run_id

_PARAM_PREFIX = "fkparam__"


class AirflowCommandError(FlowkitError):
    """An ``airflow`` command run for the user failed or could not be started."""

    headline = "airflow"


def _project(flow: Any, user: str) -> Any:
    """The ``@project`` of the deployment (``ProjectInfo``), or ``None``."""
    for deco in getattr(flow, "flow_decorators", ()):
        if getattr(deco, "name", "") == "project":
            options = getattr(flow, "flow_options", {})
            return deco.project(
                flow.flow_cls.__name__,
                user,
                options.get("branch"),
                bool(options.get("production")),
            )
    return None


def _airflow_home() -> Path:
    # Airflow's own variable, not a flowkit setting: it names the installation we write for
    return Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")


def _write_json(path: str, data: dict[str, Any]) -> None:
    partial = f"{path}.partial"
    Path(partial).write_text(json.dumps(data), encoding="utf-8")
    os.replace(partial, path)


def _airflow(argv: list[str]) -> subprocess.CompletedProcess[str]:
    from flowkit_airflow.settings import SETTINGS

    command = [SETTINGS.load().bin, *argv]
    try:
        done = subprocess.run(command, capture_output=True, text=True, errors="replace")
    except FileNotFoundError as exc:
        raise AirflowCommandError(
            f"cannot run {command[0]!r}: {exc.strerror}",
            hint="install Airflow (pip install 'flowkit[airflow]') or set FLOWKIT_AIRFLOW_BIN "
            "to its airflow command",
        ) from None
    click.echo(done.stdout, nl=False)
    click.echo(done.stderr, nl=False, err=True)
    return done


def make_command(flow: Any) -> click.Command:
    """The ``airflow`` group for one flow file (registered as ``flowcommand.airflow``)."""
    chosen: dict[str, Any] = {}

    @click.group(name="airflow", help="Deploy this flow to Apache Airflow as a DAG.")
    @click.option(
        "--name",
        default=None,
        help="DAG id (default: the flow's name; @project makes it <project>.<branch>.<Flow>).",
    )
    def group(name: str | None) -> None:
        chosen["name"] = name

    def dag_id(user: str) -> tuple[str, Any]:
        project = _project(flow, user)
        default = project.project_flow_name if project is not None else flow.flow_cls.__name__
        return chosen.get("name") or default, project

    @group.command(
        help="Upload the code snapshot and write the DAG file (default: "
        "$AIRFLOW_HOME/dags/<dag id>.py)."
    )
    @click.argument("dag_file", required=False)
    @click.option("--dag-file", "dag_file_option", default=None, help="Same as DAG_FILE.")
    @click.option(
        "--max-active-tasks",
        type=click.IntRange(min=0),
        default=0,
        help="Tasks of one DAG run at once (0: Airflow's default).",
    )
    @click.option(
        "--deployer-attribute-file",
        default=None,
        hidden=True,
        help="Write what was created here (JSON), for flowkit.Deployer.",
    )
    @click.option(
        "--profile",
        default=None,
        help="Data catalog profile of the DAG's runs (default: $FLOWKIT_PROFILE, else the "
        "catalog's defaults).",
    )
    @click.option(
        "--catalog",
        default=None,
        metavar="PATH",
        help="Data catalog file the DAG's runs use (default: catalog.toml next to the flow).",
    )
    def create(
        dag_file: str | None,
        dag_file_option: str | None,
        max_active_tasks: int,
        deployer_attribute_file: str | None,
        profile: str | None,
        catalog: str | None,
    ) -> None:
        graph = flow.graph()
        with_specs = flow.with_specs()  # `python flow.py --with retry airflow create`
        decorators = flow.decorators(graph, with_specs)
        settings = flow.settings()
        # checked (profile, no password in it) before anything is written
        run_catalog = catalog_for_run(
            flow.flow_file.parent,
            flow.settings(profile=profile, catalog=os.path.abspath(catalog) if catalog else None),
        )
        store = flow.datastore(settings)
        snapshot = build_snapshot(flow.flow_file, warn_mb=settings.code_snapshot_warn_mb)
        for warning in snapshot.warnings:
            click.echo(f"flowkit: warning: {warning}", err=True)
        code = store.content.put([snapshot.data])
        name, project = dag_id(settings.user)
        from flowkit_airflow.settings import SETTINGS

        poll = SETTINGS.load().poll_seconds
        schedule, imports = dag_schedule(flow.flow_decorators, project, poll)
        options = DagOptions(
            dag_id=name,
            flow_file=flow.flow_file.name,
            code=code,
            root=store.storage.root,
            system_tags=tuple(project.system_tags()) if project is not None else (),
            with_specs=tuple(with_specs),
            schedule=schedule,
            extra_imports=imports,
            outlets=finish_outlets(graph.name, project),
            max_active_tasks=max_active_tasks,
            watched=watched_location(flow.flow_decorators),
            catalog=store_deployed_catalog(store, run_catalog) if run_catalog else "",
        )
        parameters = list(flow_parameters(flow.flow_cls).values())
        text = build_dag_file(graph, decorators, options, parameters)
        path = Path(dag_file or dag_file_option or _airflow_home() / "dags" / f"{name}.py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        click.echo(f"DAG {name} written to {path} (code snapshot {code[:12]})")
        if deployer_attribute_file:
            _write_json(
                deployer_attribute_file,
                {
                    "name": name,
                    "flow_name": graph.name,
                    "metadata": {
                        "dag_file": str(path.resolve()),
                        "code": code,
                        "datastore_root": store.storage.root,
                    },
                },
            )

    @group.command(
        help="Start a run of the DAG: run it here with 'airflow dags test' (a local "
        "Airflow), or with --scheduler queue it for the configured Airflow."
    )
    @click.option("--dag-file", default=None, help="The DAG file (default: Airflow's DAGs folder).")
    @click.option(
        "--scheduler",
        is_flag=True,
        help="Queue the run with 'airflow dags trigger' and return at once.",
    )
    @click.option("--run-id-file", default=None, help="Write the run's id here (JSON).")
    def trigger(dag_file: str | None, scheduler: bool, run_id_file: str | None, **raw: Any) -> None:
        settings = flow.settings()
        store = flow.datastore(settings)
        name, _ = dag_id(settings.user)
        params = flow_parameters(flow.flow_cls)
        conf = {
            params[key.removeprefix(_PARAM_PREFIX)].name: params[
                key.removeprefix(_PARAM_PREFIX)
            ].convert(value)
            for key, value in raw.items()
            if value is not None
        }
        if scheduler:
            dag_run_id = f"flowkit__{time.strftime('%Y%m%dT%H%M%S')}_{secrets.token_hex(3)}"
            done = _airflow(
                ["dags", "trigger", name, "--run-id", dag_run_id, "-c", json.dumps(conf)]
            )
            run_id = flowkit_run_id(dag_run_id)
        else:
            before = set(store.run_ids())
            argv = ["dags", "test", name, "-c", json.dumps(conf)]
            done = _airflow([*argv, "-f", dag_file] if dag_file else argv)
            new = [r for r in store.run_ids() if r.startswith(RUN_PREFIX) and r not in before]
            run_id = new[-1] if len(new) == 1 else ""
            if not run_id and done.returncode == 0:
                raise AirflowCommandError(
                    f"airflow dags test {name} ran, but no new flowkit run appeared",
                    hint="check that the DAG file was created for this datastore",
                )
        if done.returncode != 0 and not run_id:
            raise AirflowCommandError(
                f"airflow {' '.join(done.args[1:3])} {name} failed (exit {done.returncode})",
                hint="see its output above",
            )
        click.echo(f"Run {flow.flow_cls.__name__}/{run_id}")
        if run_id_file:
            root = store.storage.root
            _write_json(
                run_id_file,
                {"flow": flow.flow_cls.__name__, "run_id": run_id, "datastore_root": root},
            )

    for attr, param in flow_parameters(flow.flow_cls).items():
        trigger.params.append(_parameter_option(attr, param))
    return group


def _parameter_option(attr: str, param: Parameter) -> click.Option:
    names = sorted({f"--{param.name}", f"--{param.name.replace('_', '-')}"})
    return click.Option([*names, _PARAM_PREFIX + attr], default=None, help=param.help or None)
