"""Run-time configuration: the data dictionary (数据字典) and system parameters (系统参数)."""
