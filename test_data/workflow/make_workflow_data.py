"""Write the small study that the Snakemake workflow's test config runs on.

    python test_data/workflow/make_workflow_data.py

Writes, deterministically (the same files every time):

* ``test_data/workflow/report.pg_matrix.tsv``: a simulated trial (2 arms x 4
  subjects x 3 visits = 24 runs, 150 proteins) as a DIA-NN protein-group matrix;
* ``test_data/workflow/mzml/RUN.mzML.gz``: one tiny synthetic DDA run per sample
  (24 spectra); run ``SJ023_P07_month4`` is written with 1/1000 of the
  intensities, so QC fails it and the workflow leaves it out;
* ``workflows/config/samples.csv``: the sample sheet (its ``run`` column names
  each mzML's file stem).
"""

from __future__ import annotations

from pathlib import Path

from salivaprot.io.mzml_example import write_example_mzml
from salivaprot.simulate import simulate_trial

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FAILING_RUN = "SJ023_P07_month4"


def main() -> None:
    trial = simulate_trial(seed=21, n_proteins=150, subjects_per_arm=4, dropout=0.0)
    trial.write_pg_matrix(HERE / "report.pg_matrix.tsv")
    samples = trial.data.samples.reset_index()
    columns = ["sample_id", "subject_id", "arm", "visit", "visit_day", "run", "flow_ml_min"]
    sheet = samples[columns].astype({"arm": str, "visit": str})
    sheet.to_csv(ROOT / "workflows" / "config" / "samples.csv", index=False, lineterminator="\n")
    mzml = HERE / "mzml"
    mzml.mkdir(exist_ok=True)
    assert FAILING_RUN in set(sheet["run"]), sorted(sheet["run"])
    for seed, run in enumerate(sheet["run"]):
        write_example_mzml(
            mzml / f"{run}.mzML.gz",
            n_spectra=24,
            ms2_per_ms1=5,
            ms1_peaks=12,
            ms2_peaks=6,
            seed=seed,
            intensity_scale=0.001 if run == FAILING_RUN else 1.0,
            gz=True,
        )


if __name__ == "__main__":
    main()
