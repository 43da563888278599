"""``python -m sandbox.pagerduty --port 0 --seed 1 --services 20 --incidents 200``."""

from sandbox.pagerduty.cli import main

if __name__ == "__main__":
    main()
