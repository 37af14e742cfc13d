"""Episode 10 runs the way its README says: the same flow on a local CSV, on parquet in S3
(SeaweedFS on 127.0.0.1) and on a PostgreSQL table (a throw-away server), changing only the
profile."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

EPISODE = Path(__file__).resolve().parents[2] / "tutorials" / "10-catalog"


def test_tutorial_10_catalog(seaweedfs, postgres, tmp_path):
    work = tmp_path / "episode"
    shutil.copytree(EPISODE, work)  # the default profile writes next to the catalog
    credentials = tmp_path / "home" / "credentials.toml"
    credentials.parent.mkdir()
    credentials.write_text(
        f'[team_s3]\nkey = "{seaweedfs.access_key}"\nsecret = "{seaweedfs.secret_key}"\n'
    )
    env = seaweedfs.env()
    # the S3 keys come from the credentials file only, as the catalog says
    env.pop("AWS_ACCESS_KEY_ID")
    env.pop("AWS_SECRET_ACCESS_KEY")
    env.update(
        FLOWKIT_DATASTORE_ROOT=str(tmp_path / "datastore"),
        FLOWKIT_CREDENTIALS_FILE=str(credentials),
        FLOWKIT_S3_ENDPOINT_URL=seaweedfs.endpoint,
        TEAM_BUCKET=seaweedfs.bucket,
        PGPORT=str(postgres.port),
        WAREHOUSE_PASSWORD=postgres.password,
    )

    def run(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, *args], cwd=work, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    local = run("flow.py", "run")
    assert "scored 562.0 of orders in profile default" in local.stdout
    assert (work / "out" / "scored_orders.csv").read_text().startswith("order_id,region,amount,")

    run("seed.py", "run", "--profile", "team")
    team = run("flow.py", "run", "--profile", "team")
    assert "scored 562.0 of orders in profile team" in team.stdout

    run("seed.py", "run", "--profile", "prod")
    prod = run("flow.py", "run", "--profile", "prod")
    assert "scored 562.0 of orders in profile prod" in prod.stdout

    shown = run("-c", "from flowkit.cli.main import main; main()", "show", "ScoreOrdersFlow/3")
    assert "scored_orders  save  prod" in shown.stdout
    assert f"127.0.0.1:{postgres.port}/shop#scored_orders" in shown.stdout
    listed = run(
        "-c", "from flowkit.cli.main import main; main()", "catalog", "list", "--profile", "team"
    )
    assert f"s3://{seaweedfs.bucket}/orders/" in listed.stdout
    for output in (local, team, prod, shown, listed):
        assert postgres.password not in output.stdout + output.stderr
