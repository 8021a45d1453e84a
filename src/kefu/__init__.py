"""kefu — a customer-service center platform."""

__version__ = "0.1.0"
