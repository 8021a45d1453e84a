"""Ticket configuration (TKT-1, TKT-2, TKT-3): the business-category tree (业务类型), form templates
(工单模板) with their elements (工单元素), ticket types (工单类型) and case templates (案例模板).

`service` is the only writer of these tables; `api` and `pages` are thin layers over it.
"""
