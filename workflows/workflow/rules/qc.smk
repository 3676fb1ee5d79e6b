# Run-level QC: one job per mzML (the fan-out), then one table for the study.


rule qc:
    input:
        mzml_of,
    output:
        f"{RESULTS}/qc_runs/{{run}}/qc.tsv",
    log:
        f"{RESULTS}/logs/qc/{{run}}.log",
    conda:
        "../envs/salivaprot.yaml"
    threads: 1
    resources:
        mem_mb=512,
        runtime=30,
    params:
        out=folder_of,
    shell:
        "salivaprot --quiet qc {input:q} --out {params.out:q} --force 2> {log:q}"


rule qc_merge:
    input:
        tables=expand(f"{RESULTS}/qc_runs/{{run}}/qc.tsv", run=RUNS),
        samples=config["samples"],
    output:
        f"{RESULTS}/qc/qc.tsv",
    log:
        f"{RESULTS}/logs/qc_merge.log",
    conda:
        "../envs/salivaprot.yaml"
    threads: 1
    resources:
        mem_mb=1024,
        runtime=10,
    params:
        out=folder_of,
        options=options(config["qc"].get("options")),
    shell:
        "salivaprot --quiet qc-merge {input.tables:q} --samples {input.samples:q} "
        "--out {params.out:q} --force {params.options} 2> {log:q}"
