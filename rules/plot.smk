localrules:
    plot_coverage,
    plot_verifiers,
    plot_utility,
    plot_flaws,
    plot_cost,
    plot_selection,
    plot_verification_gap,
    plot_family,
    plot_style,


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
            "results/figures/coverage/{dataset}.{ext}.lineage.txt",
            caption="report/lineage.rst",
            category="Provenance",
            labels={"dataset": "{dataset}", "figure": "coverage vs samples ({ext})"},
        ),
    log:
        "logs/plot_coverage/{dataset}.{ext}.log",
    params:
        dpi=config["plots"]["dpi"],
        code=CODE["plot"],
    script:
        "../workflow_scripts/plot_coverage.py"


rule plot_verifiers:
    input:
        expand("results/verifiers/{model}/{{dataset}}.parquet", model=MODELS),
    output:
        report(
            "results/figures/verifiers/{dataset}.{ext}",
            caption="report/verifiers.rst",
            category="Imperfect verifiers",
            labels={"dataset": "{dataset}", "figure": "resampling accuracy"},
        ),
        report(
            "results/figures/verifiers/{dataset}.{ext}.lineage.txt",
            caption="report/lineage.rst",
            category="Provenance",
            labels={"dataset": "{dataset}", "figure": "resampling accuracy ({ext})"},
        ),
    log:
        "logs/plot_verifiers/{dataset}.{ext}.log",
    params:
        figure="verifiers",
        dpi=config["plots"]["dpi"],
        code=CODE["plot_verifiers"],
    script:
        "../workflow_scripts/plot_verifiers.py"


rule plot_utility:
    input:
        expand("results/utility/{model}/{{dataset}}.parquet", model=MODELS),
    output:
        report(
            "results/figures/utility/{dataset}.{ext}",
            caption="report/utility.rst",
            category="Imperfect verifiers",
            labels={"dataset": "{dataset}", "figure": "utility and optimal k"},
        ),
        report(
            "results/figures/utility/{dataset}.{ext}.lineage.txt",
            caption="report/lineage.rst",
            category="Provenance",
            labels={"dataset": "{dataset}", "figure": "utility and optimal k ({ext})"},
        ),
    log:
        "logs/plot_utility/{dataset}.{ext}.log",
    params:
        figure="utility",
        dpi=config["plots"]["dpi"],
        code=CODE["plot_verifiers"],
    script:
        "../workflow_scripts/plot_verifiers.py"


rule plot_flaws:
    input:
        table="results/flaws/{dataset}.parquet",
        fit="results/flaws_fit/{dataset}.parquet",
    output:
        report(
            "results/figures/flaws/{dataset}.{ext}",
            caption="report/flaws.rst",
            category="Imperfect verifiers",
            labels={
                "dataset": "{dataset}",
                "figure": "resampling ceiling vs accuracy",
            },
        ),
        report(
            "results/figures/flaws/{dataset}.{ext}.lineage.txt",
            caption="report/lineage.rst",
            category="Provenance",
            labels={
                "dataset": "{dataset}",
                "figure": "resampling ceiling vs accuracy ({ext})",
            },
        ),
    log:
        "logs/plot_flaws/{dataset}.{ext}.log",
    params:
        dpi=config["plots"]["dpi"],
        code=CODE["plot_flaws"],
    script:
        "../workflow_scripts/plot_flaws.py"


rule plot_cost:
    input:
        "results/cost/{dataset}.parquet",
    output:
        report(
            "results/figures/cost/{dataset}.{ext}",
            caption="report/cost.rst",
            category="Cost",
            labels={"dataset": "{dataset}", "figure": "coverage vs cost"},
        ),
        report(
            "results/figures/cost/{dataset}.{ext}.lineage.txt",
            caption="report/lineage.rst",
            category="Provenance",
            labels={"dataset": "{dataset}", "figure": "coverage vs cost ({ext})"},
        ),
    log:
        "logs/plot_cost/{dataset}.{ext}.log",
    params:
        dpi=config["plots"]["dpi"],
        code=CODE["plot_cost"],
    script:
        "../workflow_scripts/plot_cost.py"


rule plot_selection:
    input:
        expand("results/selection/{model}/{{dataset}}.parquet", model=MODELS),
    output:
        report(
            "results/figures/selection/{dataset}.{ext}",
            caption="report/selection.rst",
            category="Selection",
            labels={"dataset": "{dataset}", "figure": "majority vote and verifiers"},
        ),
        report(
            "results/figures/selection/{dataset}.{ext}.lineage.txt",
            caption="report/lineage.rst",
            category="Provenance",
            labels={
                "dataset": "{dataset}",
                "figure": "majority vote and verifiers ({ext})",
            },
        ),
    log:
        "logs/plot_selection/{dataset}.{ext}.log",
    params:
        dpi=config["plots"]["dpi"],
        code=CODE["plot_selection"],
    script:
        "../workflow_scripts/plot_selection.py"


rule plot_verification_gap:
    input:
        curves="results/verification_gap/{dataset}.parquet",
        problems="results/verification_gap_problems/{dataset}.parquet",
        summary="results/verification_gap_summary/{dataset}.parquet",
    output:
        report(
            "results/figures/verification_gap/{dataset}.{ext}",
            caption="report/verification_gap.rst",
            category="Selection",
            labels={
                "dataset": "{dataset}",
                "figure": "verification gap vs output tokens",
            },
        ),
        report(
            "results/figures/verification_gap/{dataset}.{ext}.lineage.txt",
            caption="report/lineage.rst",
            category="Provenance",
            labels={
                "dataset": "{dataset}",
                "figure": "verification gap vs output tokens ({ext})",
            },
        ),
    log:
        "logs/plot_verification_gap/{dataset}.{ext}.log",
    params:
        dpi=config["plots"]["dpi"],
        code=CODE["plot_verification_gap"],
    script:
        "../workflow_scripts/plot_verification_gap.py"


rule plot_family:
    input:
        coverage=expand(
            "results/coverage/{model}/{{dataset}}.parquet", model=family_members()
        ),
        family="results/family/{dataset}.parquet",
    output:
        report(
            "results/figures/family/{dataset}.{ext}",
            caption="report/family.rst",
            category="Scaling",
            labels={"dataset": "{dataset}", "figure": "model family S-curves"},
        ),
        report(
            "results/figures/family/{dataset}.{ext}.lineage.txt",
            caption="report/lineage.rst",
            category="Provenance",
            labels={"dataset": "{dataset}", "figure": "model family S-curves ({ext})"},
        ),
    log:
        "logs/plot_family/{dataset}.{ext}.log",
    params:
        dpi=config["plots"]["dpi"],
        code=CODE["plot_family"],
    script:
        "../workflow_scripts/plot_family.py"


rule plot_style:
    input:
        summary=expand("results/style/{model}/{{dataset}}.parquet", model=MODELS),
        rules=expand("results/style_rules/{model}/{{dataset}}.parquet", model=MODELS),
    output:
        report(
            "results/figures/style/{dataset}.{ext}",
            caption="report/style.rst",
            category="Imperfect verifiers",
            labels={"dataset": "{dataset}", "figure": "style of false positives"},
        ),
        report(
            "results/figures/style/{dataset}.{ext}.lineage.txt",
            caption="report/lineage.rst",
            category="Provenance",
            labels={
                "dataset": "{dataset}",
                "figure": "style of false positives ({ext})",
            },
        ),
    log:
        "logs/plot_style/{dataset}.{ext}.log",
    params:
        dpi=config["plots"]["dpi"],
        code=CODE["plot_style"],
    script:
        "../workflow_scripts/plot_style.py"
