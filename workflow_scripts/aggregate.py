from monkeys.logs import run_logged
from monkeys.stages.analyse import aggregate

sm = snakemake  # noqa: F821
run_logged(sm.log[0], aggregate, sm.input.samples, sm.input.verdicts, sm.output[0])
