"""Search by name, pinyin and initials (with surname readings), by any number, the screen-pop lookup,
subscribers with typed attributes, and accounts."""

from __future__ import annotations

from sqlalchemy import event, func, select

from kefu.customers import search
from kefu.customers.models import Subscriber, SubscriberAttribute
from tests.api.customers.conftest import errors_of, resident_id

ICCID = "89860012345678901238"  # 19 digits + Luhn check digit


def _ids(rows):
    return [r["id"] for r in rows]


def test_find_by_name_pinyin_and_initials(crm):
    zhang = crm.create(name="张三")
    shan = crm.create(name="单田芳", phones=[{"number": "13900139000"}])
    yue = crm.create(name="乐嘉", phones=[])
    crm.create(name="张三丰", phones=[])
    for q in ("张三", "zhangsan", "Ｚｈａｎｇ", "zs"):  # 张三 and 张三丰: a prefix of every key kind
        assert len(crm.call("GET", "", crm.agent, q=q)) == 2, q
    for q in ("shantianfang", "stf", "shan tian"):
        assert _ids(crm.call("GET", "", crm.agent, q=q)) == [shan["id"]], q
    for q in ("yuejia", "lejia", "yj", "lj"):
        assert _ids(crm.call("GET", "", crm.agent, q=q)) == [yue["id"]], q
    assert crm.call("GET", "", crm.agent, q="danti") == []  # pypinyin's default reading of 单 is not a key
    assert _ids(crm.call("GET", "", crm.agent, q="zhangsan"))[0] == zhang["id"]  # the exact key first


def test_find_by_any_number(crm):
    c = crm.create(
        name="李四",
        id_type="resident_id",
        id_number=resident_id(),
        phones=[{"number": "010-12345678"}],
    )
    crm.call("POST", f"/{c['id']}/accounts", crm.officer, {"account_no": "ZH-2026-0001"}, expect=201)
    crm.call(
        "POST",
        f"/{c['id']}/subscribers",
        crm.officer,
        {
            "kind": "mobile",
            "service_number": "+86 139 1234 5678",
            "attributes": {"iccid": ICCID, "imsi": "460001234567890"},
        },
        expect=201,
    )
    for q in [
        "(010)1234-5678",
        "+861012345678",
        "13912345678",
        "139-1234-5678",
        resident_id(),
        c["code"],
        "zh20260001",
        ICCID,
        "460001234567890",
    ]:
        assert _ids(crm.call("GET", "", crm.agent, q=q)) == [c["id"]], q
    assert crm.call("GET", "", crm.agent, q="99999999") == []
    # The screen pop finds the customer by their phone and by their mobile line.
    assert _ids(crm.call("GET", "/by-phone", crm.agent, phone="8613912345678")) == [c["id"]]
    assert _ids(crm.call("GET", "/by-phone", crm.agent, phone="01012345678")) == [c["id"]]
    assert crm.call("GET", "/by-phone", crm.agent, phone="garbage") == []


def test_find_by_phone_service_function_and_scope(crm, session):
    mine = crm.create(crm.branch, name="北区甲", phones=[{"number": "13700137000"}])
    other = crm.create(name="南区乙", department_id=crm.south.id, phones=[{"number": "137 0013 7000"}])
    closed = crm.create(name="销户丙", phones=[{"number": "13700137000"}])
    crm.call(
        "POST", f"/{closed['id']}/status", crm.officer, {"version": closed["version"], "status": "closed"}
    )
    assert [c.id for c in search.find_by_phone(session, "+8613700137000")] == [
        mine["id"],
        other["id"],
        closed["id"],
    ]
    # The branch sees its own department's customers only (the closed one is the officer's, in north too).
    assert _ids(crm.call("GET", "/by-phone", crm.branch, phone="13700137000")) == [mine["id"], closed["id"]]


def test_search_is_a_bounded_number_of_queries(crm, session):
    """The query count does not grow with the number of customers listed (no N+1)."""
    for i in range(15):
        crm.create(name=f"王{'一二三四五六七八九十'[i % 10]}{i}", phones=[{"number": f"1380000{i:04d}"}])
    crm.create(name="孙一", phones=[{"number": "13600136000"}])
    engine = session.get_bind()

    def statements(q: str) -> tuple[int, int]:
        seen: list[str] = []

        def count(_conn, _cursor, statement, *_args):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            rows = crm.call("GET", "", crm.agent, q=q, limit=20)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(rows), len(seen)

    one, many = statements("sunyi"), statements("wang")
    assert one[0] == 1 and many[0] == 15
    assert many[1] <= one[1], (one, many)


def test_subscriber_attributes_are_typed_and_checked(crm, session):
    c = crm.create(name="王五", phones=[])
    before = session.scalar(select(func.count()).select_from(Subscriber))
    bad = crm.call(
        "POST",
        f"/{c['id']}/subscribers",
        crm.officer,
        {
            "kind": "water",
            "service_number": "A12",
            "expires_on": "2026-13-01",
            "attributes": {
                "meter_no": "",
                "meter_caliber_mm": "twenty",
                "installed_on": "yesterday",
                "colour": "red",
            },
        },
        expect=422,
    )
    assert set(errors_of(bad)) == {
        "service_number",
        "expires_on",
        "attributes.meter_no",
        "attributes.meter_caliber_mm",
        "attributes.installed_on",
        "attributes.colour",
    }
    assert session.scalar(select(func.count()).select_from(Subscriber)) == before
    ok = crm.call(
        "POST",
        f"/{c['id']}/subscribers",
        crm.officer,
        {
            "kind": "water",
            "service_number": "3301 0088 12",
            "product": "居民生活用水",
            "attributes": {"meter_no": "SB20881234", "meter_caliber_mm": "020", "installed_on": "2019-05-01"},
        },
        expect=201,
    )
    assert ok["service_number"] == "3301008812"
    assert {a["code"]: a["value"] for a in ok["attributes"]} == {
        "meter_no": "SB20881234",
        "meter_caliber_mm": "20",
        "installed_on": "2019-05-01",
    }
    # A wrong ICCID check digit is refused; the same number twice too.
    r = crm.call(
        "POST",
        f"/{c['id']}/subscribers",
        crm.officer,
        {"kind": "mobile", "service_number": "13512345678", "attributes": {"iccid": ICCID[:-1] + "0"}},
        expect=422,
    )
    assert set(errors_of(r)) == {"attributes.iccid"}
    twice = crm.call(
        "POST",
        f"/{c['id']}/subscribers",
        crm.officer,
        {"kind": "water", "service_number": "3301008812", "attributes": {"meter_no": "X1234567"}},
        expect=422,
    )
    assert set(errors_of(twice)) == {"service_number"}
    # Update: named attributes change, others stay; a stale version is a 409.
    changed = crm.call(
        "PATCH",
        f"/{c['id']}/subscribers/{ok['id']}",
        crm.officer,
        {"version": ok["version"], "attributes": {"meter_caliber_mm": "25"}},
    )
    assert {a["code"]: a["value"] for a in changed["attributes"]}["meter_no"] == "SB20881234"
    crm.call(
        "PATCH",
        f"/{c['id']}/subscribers/{ok['id']}",
        crm.officer,
        {"version": ok["version"], "product": "x"},
        expect=409,
    )
    assert _ids(crm.call("GET", "", crm.agent, q="sb20881234")) == [c["id"]]
    crm.call("DELETE", f"/{c['id']}/subscribers/{ok['id']}", crm.officer, expect=204)
    assert (
        session.scalar(
            select(func.count())
            .select_from(SubscriberAttribute)
            .where(SubscriberAttribute.subscriber_id == ok["id"])
        )
        == 0
    )


def test_accounts_and_closing_rules(crm):
    c = crm.create(name="赵六", phones=[])
    account = crm.call(
        "POST",
        f"/{c['id']}/accounts",
        crm.officer,
        {"account_no": "A-1", "pay_method": "bank_debit", "bank_name": "工商银行"},
        expect=201,
    )
    assert account["name"] == "赵六" and account["account_no"] == "A1"
    sub = crm.call(
        "POST",
        f"/{c['id']}/subscribers",
        crm.officer,
        {"kind": "broadband", "service_number": "bb00123456", "account_id": account["id"]},
        expect=201,
    )
    crm.call("DELETE", f"/{c['id']}/accounts/{account['id']}", crm.officer, expect=409)
    crm.call(
        "POST",
        f"/{c['id']}/status",
        crm.officer,
        {"version": crm.call("GET", f"/{c['id']}", crm.officer)["version"], "status": "closed"},
        expect=409,
    )
    crm.call(
        "PATCH",
        f"/{c['id']}/subscribers/{sub['id']}",
        crm.officer,
        {"version": sub["version"], "status": "closed"},
    )
    current = crm.call("GET", f"/{c['id']}", crm.officer)
    crm.call("POST", f"/{c['id']}/status", crm.officer, {"version": current["version"], "status": "closed"})
    crm.call("DELETE", f"/{c['id']}", crm.officer, expect=409)  # it has history


def test_subscriber_kinds_are_configurable(crm):
    kind = crm.call(
        "POST",
        "/kinds",
        crm.config,
        {"code": "gas", "name": "燃气用户", "number_label": "燃气户号", "number_format": "digits"},
        expect=201,
    )
    assert kind["attributes"] == []
    bad = crm.call(
        "POST",
        "/kinds/gas/attributes",
        crm.config,
        {"code": "Meter No", "label": "", "type": "choice", "pattern": "(a+)+$"},
        expect=422,
    )
    assert set(errors_of(bad)) == {"code", "label", "pattern", "dictionary"}
    attr = crm.call(
        "POST",
        "/kinds/gas/attributes",
        crm.config,
        {
            "code": "meter_no",
            "label": "燃气表号",
            "pattern": "[0-9]{8}",
            "required": True,
            "searchable": True,
        },
        expect=201,
    )
    crm.call("POST", "/kinds", crm.officer, {"code": "x", "name": "x"}, expect=403)
    c = crm.create(name="钱七", phones=[])
    r = crm.call(
        "POST",
        f"/{c['id']}/subscribers",
        crm.officer,
        {"kind": "gas", "service_number": "1234567", "attributes": {"meter_no": "1234"}},
        expect=422,
    )
    assert set(errors_of(r)) == {"attributes.meter_no"}
    crm.call(
        "POST",
        f"/{c['id']}/subscribers",
        crm.officer,
        {"kind": "gas", "service_number": "1234567", "attributes": {"meter_no": "12345678"}},
        expect=201,
    )
    crm.call("DELETE", f"/kinds/gas/attributes/{attr['id']}", crm.config, expect=409)
    crm.call("PATCH", f"/kinds/gas/attributes/{attr['id']}", crm.config, {"enabled": False})
    crm.call("DELETE", "/kinds/gas", crm.config, expect=409)
    listed = crm.call("GET", "/kinds", crm.agent)
    assert "gas" in [k["code"] for k in listed]
