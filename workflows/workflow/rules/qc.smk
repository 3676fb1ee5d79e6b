# Run-level QC: one job per mzML (the fan-out), then one table for the study.
# Each output folder is declared whole (directory()), so Snakemake removes it
# before a job and after a failed one: no older run's files stay beside new ones.


wildcard_constraints:
    run="[^/]+",


rule qc:
    input:
        mzml_of,
    output:
        directory(f"{RESULTS}/qc_runs/{{run}}"),
    log:
        f"{RESULTS}/logs/qc/{{run}}.log",
    conda:
        "../envs/salivaprot.yaml"
    threads: 1
    resources:
        mem_mb=512,
        runtime=30,
    shell:
        "salivaprot --quiet qc {input:q} --out {output:q} 2> {log:q}"


rule qc_merge:
    input:
        runs=expand(f"{RESULTS}/qc_runs/{{run}}", run=RUNS),
        samples=config["samples"],
    output:
        directory(f"{RESULTS}/qc"),
    log:
        f"{RESULTS}/logs/qc_merge.log",
    conda:
        "../envs/salivaprot.yaml"
    threads: 1
    resources:
        mem_mb=1024,
        runtime=10,
    params:
        options=options(config["qc"].get("options")),
    shell:
        "salivaprot --quiet qc-merge {input.runs:q} --samples {input.samples:q} "
        "--out {output:q} {params.options} 2> {log:q}"
