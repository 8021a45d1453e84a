"""Customers and contact management (客户接触管理): the unified customer profile, subscribers and
accounts, contact records, the customer 360 view and the business-system adapters."""
