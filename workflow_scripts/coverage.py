from monkeys.logs import run_logged
from monkeys.stages.analyse import coverage

sm = snakemake  # noqa: F821
run_logged(sm.log[0], coverage, sm.input[0], sm.output[0], analysis=sm.params.analysis,
           seed=sm.params.seed)
