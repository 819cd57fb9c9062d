from monkeys.logs import run_logged
from monkeys.stages.analyse import fit

sm = snakemake  # noqa: F821
run_logged(sm.log[0], fit, sm.input[0], sm.output[0], k_min=sm.params.k_min)
