"""A flow in a project; its steps store what ``current`` says about the project."""

from flowkit import FlowSpec, current, project, step

FIELDS = ("project_name", "branch_name", "is_production", "project_flow_name")


@project(name="fraud_model")
class ProjectFlow(FlowSpec):
    """Records the project facts in ``start`` and in ``end``."""

    @step
    def start(self):
        self.seen_start = {name: getattr(current, name) for name in FIELDS}
        self.next(self.end)

    @step
    def end(self):
        self.seen_end = {name: getattr(current, name) for name in FIELDS}
        print("branch:", current.branch_name)


if __name__ == "__main__":
    ProjectFlow()
