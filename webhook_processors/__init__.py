"""PagerDuty V3 webhooks: one processor per event family, a shared base that
verifies and de-duplicates deliveries, and the subscription that feeds them."""
