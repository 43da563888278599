"""``python -m sandbox.port --port 0 --ready-file PATH --dump PATH``."""

from sandbox.port.cli import main

raise SystemExit(main())
