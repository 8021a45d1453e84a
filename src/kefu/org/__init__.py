"""Organisation and access: departments, groups → roles → users, IP rules, sessions, tokens."""
