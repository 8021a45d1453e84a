"""Tickets and cases (工单)."""
