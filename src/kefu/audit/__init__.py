"""Audit log (操作日志) and error log (错误日志)."""
