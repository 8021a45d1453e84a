"""API shapes of customers, their phones, emails, addresses, accounts and subscribers.

Inputs are loosely typed on purpose (text where a code is expected): the services check them and
answer 422 naming the field with a message an agent understands.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kefu.customers import identity
from kefu.customers.models import Customer, Subscriber


class PhoneIn(BaseModel):
    number: str
    kind: str | None = None
    is_primary: bool = False
    note: str = ""


class EmailIn(BaseModel):
    address: str
    is_primary: bool = False


class AddressIn(BaseModel):
    detail: str
    kind: str | None = None
    region: str = ""
    postcode: str = ""
    is_primary: bool = False


class PhoneRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    number: str
    e164: str
    extension: str
    is_primary: bool
    note: str


class EmailRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    address: str
    is_primary: bool


class AddressRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    region: str
    detail: str
    postcode: str
    is_primary: bool


class _CustomerFields(BaseModel):
    code: str | None = Field(default=None, description="Customer number; given out (KH…) when empty.")
    tier: str | None = Field(default=None, description="A code of the customer_tier dictionary.")
    parent_id: int | None = Field(default=None, description="The parent customer (上级客户).")
    id_type: str | None = Field(default=None, description="resident_id, passport, uscc, …")
    id_number: str | None = None
    contact_person: str | None = None
    note: str | None = None
    department_id: int | None = Field(default=None, description="Service department (default: yours).")
    manager_id: int | None = Field(default=None, description="Account manager (客户经理).")
    phones: list[PhoneIn] | None = None
    emails: list[EmailIn] | None = None
    addresses: list[AddressIn] | None = None


class CustomerCreate(_CustomerFields):
    kind: str = Field(default="individual", description="individual or enterprise")
    name: str


class CustomerUpdate(_CustomerFields):
    """Only the fields sent change; a list sent replaces the customer's list."""

    version: int
    kind: str | None = None
    name: str | None = None


class StatusChange(BaseModel):
    version: int
    status: str = Field(description="active or closed")


class CustomerListItem(BaseModel):
    id: int
    code: str | None
    kind: str
    name: str
    pinyin: str
    status: str
    tier: str | None
    id_type: str | None
    id_number: str = Field(description="Masked: the first and last four characters.")
    phone: str = Field(description="The primary phone number.")
    department_id: int | None

    @classmethod
    def of(cls, c: Customer) -> CustomerListItem:
        primary = next((p for p in c.phones if p.is_primary), c.phones[0] if c.phones else None)
        return cls(
            id=c.id,
            code=c.code,
            kind=c.kind.value,
            name=c.name,
            pinyin=c.pinyin,
            status=c.status.value,
            tier=c.tier,
            id_type=c.id_type,
            id_number=identity.mask(c.id_number),
            phone=primary.number if primary else "",
            department_id=c.department_id,
        )


class CustomerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str | None
    kind: str
    name: str
    pinyin: str
    status: str
    tier: str | None
    parent_id: int | None
    id_type: str | None
    id_number: str | None
    birth_date: date | None
    gender: str | None
    contact_person: str
    note: str
    department_id: int | None
    manager_id: int | None
    created_at: datetime
    updated_at: datetime
    version: int = Field(validation_alias="lock_version")
    phones: list[PhoneRead]
    emails: list[EmailRead]
    addresses: list[AddressRead]


class AccountIn(BaseModel):
    account_no: str
    name: str | None = None
    pay_method: str | None = None
    bank_name: str = ""
    bank_account: str = ""


class AccountUpdate(BaseModel):
    account_no: str | None = None
    name: str | None = None
    pay_method: str | None = None
    bank_name: str | None = None
    bank_account: str | None = None
    status: str | None = None


class AccountRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    account_no: str
    name: str
    pay_method: str
    bank_name: str
    bank_account: str
    status: str


class SubscriberIn(BaseModel):
    kind: str = Field(description="The subscriber kind's code.")
    service_number: str
    account_id: int | None = None
    status: str | None = None
    product: str = ""
    opened_on: str | None = Field(default=None, description="YYYY-MM-DD")
    expires_on: str | None = Field(default=None, description="YYYY-MM-DD: end of the validity period")
    address: str = ""
    note: str = ""
    attributes: dict[str, Any] = Field(default_factory=dict, description="Attribute code → value.")


class SubscriberUpdate(BaseModel):
    version: int
    kind: str | None = None
    service_number: str | None = None
    account_id: int | None = None
    status: str | None = None
    product: str | None = None
    opened_on: str | None = None
    expires_on: str | None = None
    address: str | None = None
    note: str | None = None
    attributes: dict[str, Any] | None = Field(default=None, description="Codes named change; empty clears.")


class AttributeValue(BaseModel):
    code: str
    label: str
    value: str


class SubscriberRead(BaseModel):
    id: int
    customer_id: int
    kind: str
    kind_name: str
    number_label: str
    service_number: str
    account_id: int | None
    status: str
    product: str
    opened_on: date | None
    expires_on: date | None
    address: str
    note: str
    version: int
    attributes: list[AttributeValue]

    @classmethod
    def of(cls, s: Subscriber) -> SubscriberRead:
        values = {a.definition_id: a.value for a in s.attributes}
        return cls(
            id=s.id,
            customer_id=s.customer_id,
            kind=s.kind.code,
            kind_name=s.kind.name,
            number_label=s.kind.number_label,
            service_number=s.service_number,
            account_id=s.account_id,
            status=s.status.value,
            product=s.product,
            opened_on=s.opened_on,
            expires_on=s.expires_on,
            address=s.address,
            note=s.note,
            version=s.lock_version,
            attributes=[
                AttributeValue(code=d.code, label=d.label, value=values[d.id])
                for d in s.kind.attributes
                if d.id in values
            ],
        )


class KindIn(BaseModel):
    code: str
    name: str
    number_label: str = ""
    number_format: str = "text"
    number_pattern: str = ""
    sort: int = 0


class KindUpdate(BaseModel):
    code: str | None = None
    name: str | None = None
    number_label: str | None = None
    number_format: str | None = None
    number_pattern: str | None = None
    enabled: bool | None = None
    sort: int | None = None


class AttributeIn(BaseModel):
    code: str
    label: str
    type: str = "text"
    pattern: str = ""
    check: str = ""
    dictionary: str | None = None
    required: bool = False
    searchable: bool = False
    help_text: str = ""
    sort: int = 0


class AttributeUpdate(BaseModel):
    code: str | None = None
    label: str | None = None
    type: str | None = None
    pattern: str | None = None
    check: str | None = None
    dictionary: str | None = None
    required: bool | None = None
    searchable: bool | None = None
    help_text: str | None = None
    sort: int | None = None
    enabled: bool | None = None


class AttributeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    label: str
    type: str
    pattern: str
    check: str
    dictionary: str | None
    required: bool
    searchable: bool
    help_text: str
    sort: int
    enabled: bool


class KindRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    number_label: str
    number_format: str
    number_pattern: str
    enabled: bool
    sort: int
    attributes: list[AttributeRead]
