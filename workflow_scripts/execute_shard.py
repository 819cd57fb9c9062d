from monkeys.logs import run_logged
from monkeys.stages.execute import execute_shard

sm = snakemake  # noqa: F821
run_logged(sm.log[0], execute_shard, sm.input.problems, sm.input.samples, sm.output[0],
           execution=sm.params.execution)
