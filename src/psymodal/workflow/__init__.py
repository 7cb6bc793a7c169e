"""What the workflow does for a config: the study plan, output names and command lines.

Used by the Snakemake rules, the command line and the audit's reruns, so that the three agree.
"""
