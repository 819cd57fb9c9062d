"""One module per workflow stage: read inputs, call the pure library, write outputs.

The `workflow_scripts/` only unpack Snakemake's objects and call these, so every
stage can also be run and tested without Snakemake; each rule hashes its stage
module and the library packages it uses (see rules/common.smk).
"""
