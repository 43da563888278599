"""Starts an image-like install of the integration (its own venv's `ocean sail`)
once against the sandbox servers and checks that it syncs."""

import argparse
import subprocess
import sys
from pathlib import Path

from sandbox.stack import SimSettings, sandbox_stack


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--app", type=Path, required=True)
    parser.add_argument("--ocean", type=Path, required=True)
    args = parser.parse_args()
    with sandbox_stack(SimSettings(services=10, incidents=100)) as stack:
        run = subprocess.run(
            [str(args.ocean), "sail", str(args.app)],
            cwd=args.app,
            env=stack.integration_env("ONCE"),
            capture_output=True,
            text=True,
            timeout=300,
        )
        landed = {bp: len(entities) for bp, entities in stack.catalog().items()}
    print(f"exit code {run.returncode}, landed {landed}")
    if run.returncode != 0 or not landed.get("pagerdutyService"):
        print(run.stdout[-4000:], run.stderr[-4000:], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
