"""One exporter per PagerDuty resource: each turns a selector into pages of raw objects."""
