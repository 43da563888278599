"""Self-service actions on PagerDuty from Port, on Ocean's actions framework.

One executor per action (`incidents`, `trigger`, `oncall`), sharing `base`
(errors, rate budget, reporting), `inputs`, `actor` (who acts, the `From`
user) and `write_through` (the changed objects written to Port at once);
`registry` registers them, `definitions` binds the shipped Port actions.
"""
