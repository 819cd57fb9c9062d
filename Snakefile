# monkeys: repeated sampling, sandboxed verification, coverage and scaling-law figures.
#
#   snakemake --cores 2                         # the embedded default (config/config.yaml)
#   snakemake --cores 2 --configfile my.yaml    # your experiment: my.yaml alone
#
# A --configfile is the whole experiment (plus the schema's defaults): nothing of
# config/config.yaml is merged into it. Several merge in order (--configfile base.yaml
# my.yaml), and --config key=value goes on top. Hence no `configfile:` directive here;
# rules/common.smk reads config/config.yaml only when no --configfile is given.
#
# Data flow: fetch_dataset / fetch_model -> sample_shard -> execute_shard ->
# aggregate -> coverage -> fit -> plot_coverage (see README.md).

from snakemake.utils import min_version

min_version("9.20")


include: "rules/common.smk"


wildcard_constraints:
    model=r"[A-Za-z0-9][A-Za-z0-9._-]*",
    dataset=r"[A-Za-z0-9][A-Za-z0-9._-]*",
    shard=r"\d+-\d+",
    ext="png|pdf|svg",


# Used only with `--sdm apptainer`; see config/schema.yaml (container).
container: config["container"]


include: "rules/fetch.smk"
include: "rules/testgen.smk"
include: "rules/sample.smk"
include: "rules/score.smk"
include: "rules/execute.smk"
include: "rules/analyse.smk"
include: "rules/plot.smk"


rule all:
    input:
        all_figures(),
        import_agreements,
