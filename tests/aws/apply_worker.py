"""A long-lived ``cwl-export-wizard`` process for the concurrency tests.

Each line on stdin is a JSON list of command-line arguments; each is run in this process
(as ``cwl-export-wizard ARGS``) and answered with one JSON line on stdout: the exit code and
what the command printed. Importing boto3 once keeps 25 trials of two applies fast.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys


def main() -> int:
    from wizard.cli import main as wizard_main

    answers = sys.stdout
    for line in sys.stdin:
        args = json.loads(line)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = wizard_main(args)
        answers.write(json.dumps({"code": code, "out": out.getvalue(), "err": err.getvalue()}))
        answers.write("\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
