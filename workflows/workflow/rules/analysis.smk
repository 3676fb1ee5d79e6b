# Differential abundance, figures and the report, each from the one before.
# Output folders are declared whole (directory()): see qc.smk.


rule diff:
    input:
        proteins=config["proteins"],
        samples=config["samples"],
        qc=f"{RESULTS}/qc",
    output:
        directory(f"{RESULTS}/diff"),
    log:
        f"{RESULTS}/logs/diff.log",
    conda:
        "../envs/salivaprot.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        qc_table=f"{RESULTS}/qc/qc.tsv",
        exclude="--exclude-failed-runs" if config["qc"]["exclude_failed_runs"] else "",
        options=options(config["diff"]),
    shell:
        "salivaprot --quiet diff {input.proteins:q} --samples {input.samples:q} "
        "--qc {params.qc_table:q} {params.exclude:q} {params.options} --out {output:q} "
        "2> {log:q}"


rule figures:
    input:
        f"{RESULTS}/diff",
    output:
        directory(f"{RESULTS}/figures"),
    log:
        f"{RESULTS}/logs/figures.log",
    conda:
        "../envs/salivaprot.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        formats=",".join(config["figures"]["formats"]),
    shell:
        "salivaprot --quiet figures {input:q} --out {output:q} --format {params.formats:q} "
        "2> {log:q}"


rule report:
    input:
        diff=f"{RESULTS}/diff",
        qc=f"{RESULTS}/qc",
    output:
        f"{RESULTS}/report.html",
    log:
        f"{RESULTS}/logs/report.log",
    conda:
        "../envs/salivaprot.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    shell:
        "salivaprot --quiet report {input.diff:q} --out {output:q} 2> {log:q}"
