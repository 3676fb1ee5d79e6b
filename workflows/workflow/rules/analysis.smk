# Differential abundance, figures and the report, each from the one before.


rule diff:
    input:
        proteins=config["proteins"],
        samples=config["samples"],
        qc=f"{RESULTS}/qc/qc.tsv",
    output:
        f"{RESULTS}/diff/results.tsv",
        f"{RESULTS}/diff/run.json",
    log:
        f"{RESULTS}/logs/diff.log",
    conda:
        "../envs/salivaprot.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        out=folder_of,
        exclude="--exclude-failed-runs" if config["qc"]["exclude_failed_runs"] else "",
        options=options(config["diff"]),
    shell:
        "salivaprot --quiet diff {input.proteins:q} --samples {input.samples:q} "
        "--qc {input.qc:q} {params.exclude:q} {params.options} --out {params.out:q} --force "
        "2> {log:q}"


rule figures:
    input:
        f"{RESULTS}/diff/results.tsv",
    output:
        touch(f"{RESULTS}/figures/.done"),
    log:
        f"{RESULTS}/logs/figures.log",
    conda:
        "../envs/salivaprot.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        results=results_folder,
        out=folder_of,
        formats=",".join(config["figures"]["formats"]),
    shell:
        "salivaprot --quiet figures {params.results:q} --out {params.out:q} "
        "--format {params.formats:q} --force 2> {log:q}"


rule report:
    input:
        f"{RESULTS}/diff/results.tsv",
        f"{RESULTS}/qc/qc.tsv",
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
    params:
        results=results_folder,
    shell:
        "salivaprot --quiet report {params.results:q} --out {output:q} 2> {log:q}"
