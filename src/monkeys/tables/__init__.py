"""Parquet tables: one module per table family, so that a stage's code hash covers
only the schemas it uses (see monkeys.hashing.module_closure); I/O in monkeys.tables.io."""
