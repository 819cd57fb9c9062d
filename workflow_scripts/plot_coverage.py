from monkeys.logs import run_logged
from monkeys.stages.plot import plot_coverage

sm = snakemake  # noqa: F821
run_logged(
    sm.log[0], plot_coverage, sm.input.coverage, sm.input.fits, sm.input.lineage,
    sm.output[0], sm.output[1], dataset=sm.wildcards.dataset, dpi=sm.params.dpi,
    config=sm.config, params={"dpi": sm.params.dpi, "code": sm.params.code},
)
