"""Cross-cutting machinery: clock, errors, events, jobs, permissions, audit, i18n."""
