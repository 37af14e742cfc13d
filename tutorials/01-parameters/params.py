"""Episode 01: parameters and IncludeFile.

python tutorials/01-parameters/params.py run
python tutorials/01-parameters/params.py run --min-mass 4000 --species Gentoo --verbose
"""

import io
from pathlib import Path

import pandas as pd

from flowkit import FlowSpec, IncludeFile, JSONType, Parameter, step


class PenguinFilterFlow(FlowSpec):
    """Filter a small CSV of penguins by parameters and summarise what is left."""

    table = IncludeFile(
        "table",
        # next to this file, so the default works from any folder (a relative path given with
        # --table is relative to the current folder, as usual on a command line)
        default=str(Path(__file__).resolve().with_name("penguins.csv")),
        help="CSV file; its contents are stored with the run",
    )
    min_mass = Parameter(
        "min-mass", default=0, type=int, help="keep penguins at least this heavy (g)"
    )
    species = Parameter("species", default="", help="keep only this species ('' keeps all)")
    columns = Parameter(
        "columns",
        default=["bill_length_mm", "body_mass_g"],
        type=JSONType,
        help="columns to average",
    )
    verbose = Parameter("verbose", default=False, type=bool, help="print the kept rows")

    @step
    def start(self):
        """Parse the included file: self.table is its text, snapshotted into this run."""
        self.df = pd.read_csv(io.StringIO(self.table))
        print(f"read {len(self.df)} rows")
        self.next(self.filter)

    @step
    def filter(self):
        """Apply the parameters."""
        kept = self.df[self.df.body_mass_g >= self.min_mass]
        if self.species:
            kept = kept[kept.species == self.species]
        self.kept = kept
        if self.verbose:
            print(kept.to_string(index=False))
        self.next(self.end)

    @step
    def end(self):
        """Summarise."""
        self.means = {c: round(float(self.kept[c].mean()), 2) for c in self.columns}
        print(f"kept {len(self.kept)} of {len(self.df)} penguins; means: {self.means}")


if __name__ == "__main__":
    PenguinFilterFlow()
