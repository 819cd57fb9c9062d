localrules:
    plot_coverage,


rule plot_coverage:
    input:
        coverage=expand("results/coverage/{model}/{{dataset}}.parquet", model=MODELS),
        fits=expand("results/fits/{model}/{{dataset}}.parquet", model=MODELS),
        lineage=lineage,
    output:
        report(
            "results/figures/coverage/{dataset}.{ext}",
            caption="report/coverage.rst",
            category="Coverage",
            labels={"dataset": "{dataset}", "figure": "coverage vs samples"},
        ),
        report(
            "results/figures/coverage/{dataset}.{ext}.prov.json",
            caption="report/provenance.rst",
            category="Provenance",
            labels={"dataset": "{dataset}", "figure": "coverage vs samples ({ext})"},
        ),
    params:
        dpi=config["plots"]["dpi"],
        code=CODE["plot"],
    log:
        "logs/plot_coverage/{dataset}.{ext}.log",
    script:
        "../workflow_scripts/plot_coverage.py"
