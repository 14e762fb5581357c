"""The scriptable commands, one module each holding its options and its run: doctor.py
(survey.py, verify.py), plan.py, apply.py, test_export.py, undo.py, iam_policy.py;
options.py builds the option groups they share, common.py what their runs share, and
dispatch.py runs one and reports its failures.

Every command validates its input before the first AWS call, prints results (or ``--json``)
on stdout and diagnostics on stderr, and returns an exit code: 0 success / healthy, 1
findings, changes or a failed export, 2 usage, credential, network or AWS errors.

Importing this package, options.py or a command's module is cheap (no AWS, no UI, no
flow): the CLI imports them to build its parser; a run imports what it needs when it runs.
"""
