"""Tables of the unified customer profile (统一客户资料, CON-1): customers (individual or enterprise,
with a parent customer 上级客户), their phones, emails and addresses, the name index (name, pinyin,
initials), billing accounts (账户), and subscribers (用户 / 业务号码) with typed industry attributes
defined per subscriber kind.

Search columns (`CustomerNameKey.key`, `CustomerPhone.e164`, `Subscriber.number_key`,
`SubscriberAttribute.key`) hold folded ASCII-or-Chinese keys compared by prefix range or equality;
on PostgreSQL they use the "C" collation so a prefix range is a plain index range whatever the
database's own collation is.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kefu.core import clock
from kefu.db import Base


def _enum(cls: type[StrEnum], length: int = 20) -> Enum:
    """Stored as its value in a plain string column (no database enum type to migrate)."""
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


def key_column(length: int) -> String:
    """A search-key column: byte-order ("C") collation on PostgreSQL, so prefix ranges use the index."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class CustomerKind(StrEnum):
    INDIVIDUAL = "individual"
    ENTERPRISE = "enterprise"


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"  # 销户: kept for history, no new subscribers


class PhoneKind(StrEnum):
    MOBILE = "mobile"
    HOME = "home"
    WORK = "work"
    FAX = "fax"
    OTHER = "other"


class AddressKind(StrEnum):
    HOME = "home"
    OFFICE = "office"
    BILLING = "billing"
    INSTALLATION = "installation"
    MAILING = "mailing"


class AccountStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


class PayMethod(StrEnum):
    CASH = "cash"  # 营业厅现金
    BANK_DEBIT = "bank_debit"  # 银行代扣
    ONLINE = "online"  # 网上 / 移动支付
    PREPAID = "prepaid"  # 预付费


class SubscriberStatus(StrEnum):
    ACTIVE = "active"  # 在用
    SUSPENDED = "suspended"  # 停机 / 报停
    CLOSED = "closed"  # 拆机 / 销号


class NumberFormat(StrEnum):
    PHONE = "phone"  # normalised like every phone number (E.164 key); found by a caller's number
    DIGITS = "digits"  # digits only (meter numbers, smart-card numbers)
    TEXT = "text"  # letters and digits, upper case (securities accounts, Inmarsat codes)


class AttributeType(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    BOOL = "bool"
    CHOICE = "choice"  # one code of a data dictionary
    PHONE = "phone"
    EMAIL = "email"


class Customer(Base):
    __tablename__ = "customer"
    __table_args__ = (
        UniqueConstraint("id_type", "id_number"),
        Index("ix_customer_department_name", "department_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # 客户编号: from the source system, or given out by kefu (KH + id).
    code: Mapped[str | None] = mapped_column(String(40), unique=True)
    kind: Mapped[CustomerKind] = mapped_column(_enum(CustomerKind))
    name: Mapped[str] = mapped_column(String(200))
    pinyin: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[CustomerStatus] = mapped_column(_enum(CustomerStatus), default=CustomerStatus.ACTIVE)
    tier: Mapped[str | None] = mapped_column(String(60))  # a code of the customer_tier dictionary
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="RESTRICT"), index=True)
    id_type: Mapped[str | None] = mapped_column(String(30))
    id_number: Mapped[str | None] = mapped_column(String(40), index=True)
    birth_date: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(10))
    contact_person: Mapped[str] = mapped_column(String(100), default="")  # enterprises: 联系人
    note: Mapped[str] = mapped_column(Text, default="")
    # The service department (服务部门) the customer belongs to, and the account manager (客户经理):
    # what the data scope of customers.customer.* reads.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    parent: Mapped[Customer | None] = relationship(remote_side=[id])
    phones: Mapped[list[CustomerPhone]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="CustomerPhone.id"
    )
    emails: Mapped[list[CustomerEmail]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="CustomerEmail.id"
    )
    addresses: Mapped[list[CustomerAddress]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="CustomerAddress.id"
    )
    name_keys: Mapped[list[CustomerNameKey]] = relationship(cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": lock_version}

    @property
    def is_person(self) -> bool:
        return self.kind is CustomerKind.INDIVIDUAL


class CustomerNameKey(Base):
    """One way to find a customer by name: the folded name, a full pinyin or the initials."""

    __tablename__ = "customer_name_key"
    __table_args__ = (Index("ix_customer_name_key_key", "key", "customer_id"),)

    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # name / pinyin / initials
    key: Mapped[str] = mapped_column(key_column(100), primary_key=True)


class CustomerPhone(Base):
    __tablename__ = "customer_phone"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    kind: Mapped[PhoneKind] = mapped_column(_enum(PhoneKind), default=PhoneKind.MOBILE)
    number: Mapped[str] = mapped_column(String(40))  # as shown: 138 0013 8000, 010 1234 5678
    e164: Mapped[str] = mapped_column(key_column(20), index=True)
    extension: Mapped[str] = mapped_column(String(10), default="")
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(String(100), default="")

    customer: Mapped[Customer] = relationship(back_populates="phones")


class CustomerEmail(Base):
    __tablename__ = "customer_email"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    address: Mapped[str] = mapped_column(key_column(200), index=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)

    customer: Mapped[Customer] = relationship(back_populates="emails")


class CustomerAddress(Base):
    __tablename__ = "customer_address"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    kind: Mapped[AddressKind] = mapped_column(_enum(AddressKind), default=AddressKind.HOME)
    region: Mapped[str] = mapped_column(String(100), default="")  # 省 / 市 / 区县
    detail: Mapped[str] = mapped_column(String(300))
    postcode: Mapped[str] = mapped_column(String(10), default="")
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)

    customer: Mapped[Customer] = relationship(back_populates="addresses")


class Account(Base):
    """A billing account (账户): where a customer's subscribers are billed and how they pay."""

    __tablename__ = "customer_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="RESTRICT"), index=True)
    account_no: Mapped[str] = mapped_column(key_column(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    pay_method: Mapped[PayMethod] = mapped_column(_enum(PayMethod), default=PayMethod.CASH)
    bank_name: Mapped[str] = mapped_column(String(100), default="")
    bank_account: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[AccountStatus] = mapped_column(_enum(AccountStatus), default=AccountStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class SubscriberKind(Base):
    """A kind of subscriber (mobile line, satellite terminal, cable-TV smart card, water meter,
    securities account …): how its service number is written and which attributes it carries."""

    __tablename__ = "subscriber_kind"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    number_label: Mapped[str] = mapped_column(String(60), default="")
    number_format: Mapped[NumberFormat] = mapped_column(_enum(NumberFormat), default=NumberFormat.TEXT)
    number_pattern: Mapped[str] = mapped_column(String(200), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    sort: Mapped[int] = mapped_column(Integer, default=0)

    attributes: Mapped[list[AttributeDefinition]] = relationship(
        back_populates="kind",
        cascade="all, delete-orphan",
        order_by="[AttributeDefinition.sort, AttributeDefinition.id]",
    )


class AttributeDefinition(Base):
    """An industry attribute of a subscriber kind (IMSI, ICCID, fax number, smart-card number, meter
    number …): its type, whether it is required, a pattern or check, whether search finds it."""

    __tablename__ = "subscriber_attribute_def"
    __table_args__ = (UniqueConstraint("kind_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind_id: Mapped[int] = mapped_column(ForeignKey("subscriber_kind.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100))
    type: Mapped[AttributeType] = mapped_column(_enum(AttributeType), default=AttributeType.TEXT)
    pattern: Mapped[str] = mapped_column(String(200), default="")
    check: Mapped[str] = mapped_column(String(20), default="")  # "" or "luhn" (ICCID, card numbers)
    dictionary: Mapped[str | None] = mapped_column(String(60))  # for choice attributes
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    searchable: Mapped[bool] = mapped_column(Boolean, default=False)
    help_text: Mapped[str] = mapped_column(String(200), default="")
    sort: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    kind: Mapped[SubscriberKind] = relationship(back_populates="attributes")


class Subscriber(Base):
    """A subscriber / service number (用户 / 业务号码) of a customer, of one kind, billed to an account."""

    __tablename__ = "subscriber"
    __table_args__ = (UniqueConstraint("kind_id", "number_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="RESTRICT"), index=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer_account.id", ondelete="SET NULL"), index=True
    )
    kind_id: Mapped[int] = mapped_column(ForeignKey("subscriber_kind.id", ondelete="RESTRICT"))
    service_number: Mapped[str] = mapped_column(String(60))
    number_key: Mapped[str] = mapped_column(key_column(60), index=True)
    status: Mapped[SubscriberStatus] = mapped_column(_enum(SubscriberStatus), default=SubscriberStatus.ACTIVE)
    product: Mapped[str] = mapped_column(String(100), default="")  # 套餐 / 产品
    opened_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)  # 有效期 (CON-8)
    address: Mapped[str] = mapped_column(String(300), default="")  # installation address
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    kind: Mapped[SubscriberKind] = relationship()
    account: Mapped[Account | None] = relationship()
    attributes: Mapped[list[SubscriberAttribute]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": lock_version}


class SubscriberAttribute(Base):
    __tablename__ = "subscriber_attribute"

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscriber.id", ondelete="CASCADE"), primary_key=True
    )
    definition_id: Mapped[int] = mapped_column(
        ForeignKey("subscriber_attribute_def.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(key_column(200), index=True)  # folded, for search

    subscriber: Mapped[Subscriber] = relationship(back_populates="attributes")
    definition: Mapped[AttributeDefinition] = relationship()
