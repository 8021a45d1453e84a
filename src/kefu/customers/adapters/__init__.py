"""Business-system adapters (INT-2, CON-8): what kefu asks the operator's other systems — customer
information, subscriber data, billing and payments, meter readings, installation progress — behind one
small interface per kind (`base`), with a configurable HTTP/JSON implementation (`http`, guarded by
`breaker`) and a demo one (`demo`). `registry.source_for` picks the configured one per kind."""
