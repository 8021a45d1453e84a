"""Permission catalogue entries of customers and contact management (客户接触管理).

Customers belong to a service department (服务部门) and may have an account manager (客户经理): the
data scope of `customers.customer.*` reads those two — own = the customers one manages, department /
subtree = the customers of one's department (and below), all = every customer. A call-center agent
who must find any caller needs a role with scope `all` on `customers.customer.view`; a branch's
back office sees its own branch's customers.
"""

from kefu.core.permissions import register

# Customers, their phones, addresses, accounts and subscribers.
register(
    "customers.customer",
    "Customers",
    ("view", "create", "edit", "delete"),
    area="customers",
    scoped=True,
)
# Contact records (接触记录): view = the contact list beyond one's own customers' timelines (scoped by
# the agent's department); create = record an interaction and link it to tickets.
register("customers.contact", "Contact records", ("view", "create"), area="customers", scoped=True)
# Business queries (业务查询, CON-8): bills, arrears, payments, meter readings and installation
# progress from the business systems, for customers one can see.
register("customers.business", "Business queries", ("view",), area="customers")
# Subscriber kinds and their attributes; business-system adapters.
register("customers.config", "Customer configuration", ("view", "edit"), area="customers")
