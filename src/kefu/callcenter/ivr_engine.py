"""Walking the IVR (CC-4): the PBX asks for the next action of a call, step by step.

The PBX posts `{call_id, from, to, digits, recording_url, language, seq}`; the answer says what to
do: `play_collect` (play the prompts, collect up to `max_digits` keys within `timeout` seconds),
`play` (play the prompts, then ask again), `record` (record up to `max_seconds` after the prompts,
then ask again with the recording's URL), `queue` (hand the call to the queue `queue`) or `hangup`.

Idempotency: every answer carries `seq`, a counter of the session's answers, and the PBX echoes
the `seq` of the answer it is responding to (none or 0 to start). A request that echoes the current
`seq` moves the caller on; a replay of the previous request (same `seq - 1`, same keys, same
recording) gets the stored answer again and changes nothing; anything else is a 409. The session
row is locked (`FOR UPDATE`, and its version column where the database cannot lock rows).

What the caller entered and heard (menu path, account number, `verified`, query results, the
message left, the language) is merged into `Call.ivr` at once when the PBX reported the call
already, and by the CTI hook (`merge_into`) when it reports it later: the screen pop shows it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kefu.callcenter import ivr_selfservice, prompts
from kefu.callcenter.ivr_selfservice import QueryFailed, say
from kefu.callcenter.models import Call, CallQueue, IvrMenu, IvrOption, IvrSession
from kefu.core import clock
from kefu.core.errors import Conflict
from kefu.core.i18n import lazy

COLLECT_TIMEOUT = 10
MAX_PATH = 50
STEP_CHANGED = lazy("This IVR step was answered already: send the seq of the last answer")
SESSION_ENDED = lazy("The IVR session of this call has ended")

# Built-in sentences, spoken when no voice prompt of the code exists (an administrator may record one).
BUILT_IN = {
    "ivr.invalid": lazy("Sorry, that is not a valid choice."),
    "ivr.goodbye": lazy("Thank you for calling. Goodbye."),
    "ivr.to_agent": lazy("Connecting you to an agent, please hold."),
    "ivr.enter_account": lazy("Please enter your account number, followed by the hash key."),
    "ivr.enter_ticket": lazy("Please enter the digits of your ticket number, followed by the hash key."),
    "ivr.not_found": lazy("Nothing was found for the number you entered."),
    "ivr.query_failed": lazy(
        "Sorry, the query service is not available right now. Press 0 to speak to an agent, "
        "or any other key to return to the menu."
    ),
    "ivr.unavailable": lazy("Sorry, this information is not available right now."),
    "ivr.record": lazy("Please leave your message after the tone, and press the hash key when you are done."),
    "ivr.message_kept": lazy("Thank you, your message has been recorded. Goodbye."),
    "ivr.no_message": lazy("No message was recorded. Goodbye."),
}
FOR_KEY = lazy("For %(label)s, press %(key)s.")
KEY_NAMES = {"*": lazy("the star key"), "#": lazy("the hash key")}
VOICEMAIL_SUMMARY = lazy("Voice message left in the IVR: %(url)s")


@dataclass(frozen=True)
class StepIn:
    call_id: str
    from_number: str = ""
    to_number: str = ""
    digits: str | None = None
    recording_url: str = ""
    language: str | None = None
    seq: int | None = None

    def fingerprint(self) -> str:
        basis = json.dumps([self.seq or 0, self.digits, self.recording_url], ensure_ascii=False)
        return hashlib.sha256(basis.encode()).hexdigest()[:32]


class _Walk:
    """One step of one session: reads the state, builds the answer, writes the new state."""

    def __init__(self, session: Session, row: IvrSession, request: StepIn) -> None:
        self.session = session
        self.row = row
        self.request = request
        self.ctx: dict[str, Any] = dict((row.step_params or {}).get("ctx") or {})
        self.data: dict[str, Any] = dict(row.data or {})
        self.path: list[str] = list(row.path or [])
        self.lang = row.language

    # --- prompts ---------------------------------------------------------------------------------------

    def prompt(self, code: str, *, builtin: str | None = None) -> dict[str, Any] | None:
        found = prompts.resolve(self.session, code, self.lang) if code else None
        if found is not None:
            url = prompts.audio_path(found) if found.file_key else None
            return {"code": found.code, "text": found.text, "url": url}
        message = builtin or BUILT_IN.get(code)
        return {"code": code, "text": say(self.lang, message), "url": None} if message else None

    def text(self, text: str) -> dict[str, Any]:
        return {"code": "", "text": text, "url": None}

    def menu_prompt(self, menu: IvrMenu) -> dict[str, Any]:
        found = self.prompt(menu.prompt_code) if menu.prompt_code else None
        if found is not None:
            return found
        parts = []
        for option in self.options(menu):
            key = say(self.lang, KEY_NAMES[option.digit]) if option.digit in KEY_NAMES else option.digit
            parts.append(say(self.lang, FOR_KEY, label=option.label or option.digit, key=key))
        return self.text((" " if self.lang == "en" else "").join(parts))

    # --- answers ---------------------------------------------------------------------------------------

    @staticmethod
    def answer(action: str, items: list[dict[str, Any] | None], **extra: Any) -> dict[str, Any]:
        return {"action": action, "prompts": [p for p in items if p], **extra}

    def options(self, menu: IvrMenu) -> list[IvrOption]:
        return list(
            self.session.scalars(
                select(IvrOption)
                .where(IvrOption.menu_id == menu.id)
                .order_by(IvrOption.position, IvrOption.id)
            )
        )

    def menu(self) -> IvrMenu | None:
        return self.session.get(IvrMenu, self.row.menu_id) if self.row.menu_id else None

    def enter(
        self, menu: IvrMenu, before: Sequence[dict[str, Any] | None] = (), *, retries: int = 0
    ) -> dict[str, Any]:
        self.row.menu_id, self.row.step, self.row.retries = menu.id, "menu", retries
        self.data["menu"] = menu.name
        return self.answer(
            "play_collect", [*before, self.menu_prompt(menu)], max_digits=1, timeout=menu.timeout_seconds
        )

    def finish(self, outcome: str) -> None:
        self.row.step, self.row.outcome, self.row.ended_at = "done", outcome, clock.now()

    def hangup(self, item: dict[str, Any] | None, outcome: str = "hangup") -> dict[str, Any]:
        self.finish(outcome)
        return self.answer("hangup", [item])

    def to_queue(self, code: str) -> dict[str, Any]:
        self.finish("queue")
        self.data["queue"] = code
        return self.answer("queue", [self.prompt("ivr.to_agent")], queue=code)

    def default_queue(self) -> str | None:
        return self.session.scalar(
            select(CallQueue.code).where(CallQueue.enabled.is_(True)).order_by(CallQueue.id).limit(1)
        )

    def fallback(self, menu: IvrMenu | None) -> dict[str, Any]:
        """After too many wrong or missing keys: the menu's fallback, else the first queue, else goodbye."""
        invalid = self.invalid_prompt(menu)
        action = (menu.fallback or {}) if menu is not None else {}
        if action.get("action") in ("menu", "queue", "hangup"):
            answer = self.do(menu, action["action"], action.get("params") or {})
            answer["prompts"] = [invalid, *answer["prompts"]] if invalid else answer["prompts"]
            return answer
        queue = self.default_queue()
        answer = self.to_queue(queue) if queue else self.hangup(self.prompt("ivr.goodbye"))
        answer["prompts"] = [invalid, *answer["prompts"]] if invalid else answer["prompts"]
        return answer

    def invalid_prompt(self, menu: IvrMenu | None) -> dict[str, Any] | None:
        code = menu.invalid_prompt_code if menu is not None and menu.invalid_prompt_code else "ivr.invalid"
        return self.prompt(code, builtin=BUILT_IN["ivr.invalid"])

    def retry(
        self, menu: IvrMenu, again: dict[str, Any], before: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Offer the same input again after a wrong or missing one, or give up with the fallback."""
        if self.row.retries >= menu.max_retries:
            return self.fallback(menu)
        self.row.retries += 1
        again["prompts"] = [before or self.invalid_prompt(menu), *again["prompts"]]
        return again

    # --- actions ---------------------------------------------------------------------------------------

    def do(self, menu: IvrMenu | None, action: str, params: dict[str, Any]) -> dict[str, Any]:
        if action == "menu":
            target = self.session.scalar(select(IvrMenu).where(IvrMenu.code == params.get("menu")))
            if target is None or not target.enabled:
                return self.fallback(menu)
            if menu is not None and target.id != menu.id:
                self.ctx["stack"] = [*self.ctx.get("stack", []), menu.id][-MAX_PATH:]
            return self.enter(target)
        if action == "queue":
            return (
                self.to_queue(str(params.get("queue") or "")) if params.get("queue") else self.fallback(menu)
            )
        if action == "hangup":
            return self.hangup(self.prompt(params.get("prompt") or "ivr.goodbye"))
        if menu is None:
            return self.fallback(None)
        if action == "query":
            self.row.step, self.row.retries = "collect", 0
            self.ctx["query"] = {k: params.get(k) for k in ("kind", "max_digits", "queue", "prompt")}
            return self.ask_digits(menu)
        if action == "knowledge":
            found = ivr_selfservice.article_text(self.session, params.get("article_id"))
            if found is None:
                return self.enter(menu, [self.prompt("ivr.unavailable")])
            number, text = found
            self.data["knowledge"] = number
            self.row.step = "played"
            return self.answer("play", [self.prompt(params.get("prompt", "")), self.text(text)])
        if action == "record":
            self.row.step = "recording"
            seconds = int(params.get("max_seconds") or 60)
            item = self.prompt(params.get("prompt") or "ivr.record")
            return self.answer("record", [item], max_seconds=seconds, beep=True, terminator="#")
        if action == "back":
            stack = list(self.ctx.get("stack", []))
            previous = self.session.get(IvrMenu, stack.pop()) if stack else None
            self.ctx["stack"] = stack
            return self.enter(previous or menu)
        return self.enter(menu)  # repeat

    def ask_digits(self, menu: IvrMenu) -> dict[str, Any]:
        query = self.ctx["query"]
        code = query.get("prompt") or (
            "ivr.enter_ticket" if query.get("kind") == "ticket" else "ivr.enter_account"
        )
        return self.answer(
            "play_collect",
            [self.prompt(code)],
            max_digits=int(query.get("max_digits") or 20),
            timeout=COLLECT_TIMEOUT,
            terminator="#",
        )

    # --- the steps -------------------------------------------------------------------------------------

    def start(self) -> dict[str, Any]:
        from kefu.callcenter import ivr

        menu = ivr.entry_menu(self.session, self.request.to_number)
        self.data["dialled"] = self.request.to_number
        if menu is None:
            return self.fallback(None)
        return self.enter(menu)

    def on_menu(self, menu: IvrMenu) -> dict[str, Any]:
        digits = (self.request.digits or "").strip()
        option = next((o for o in self.options(menu) if o.digit == digits), None) if digits else None
        if option is None:
            return self.retry(menu, self.enter(menu, retries=self.row.retries))
        self.path = [*self.path, f"{menu.code}:{option.digit}"][-MAX_PATH:]
        if option.label:
            self.data["choice"] = option.label
        self.row.retries = 0
        return self.do(menu, option.action, dict(option.params or {}))

    def on_collect(self, menu: IvrMenu) -> dict[str, Any]:
        query = self.ctx.get("query") or {}
        digits = (self.request.digits or "").strip().rstrip("#")
        if not digits.isdigit():
            return self.retry(menu, self.ask_digits(menu))
        self.path = [*self.path, f"{menu.code}:query"][-MAX_PATH:]
        try:
            if query.get("kind") == "ticket":
                result = ivr_selfservice.ticket_query(self.session, digits=digits, language=self.lang)
            else:
                result = ivr_selfservice.account_query(
                    self.session,
                    kind=str(query.get("kind")),
                    number=digits,
                    caller=self.request.from_number or str(self.data.get("caller", "")),
                    language=self.lang,
                )
        except QueryFailed as failed:
            self.data.update({"query_error": failed.reason, "account": digits})
            self.row.step = "offer"
            return self.answer(
                "play_collect", [self.prompt("ivr.query_failed")], max_digits=1, timeout=menu.timeout_seconds
            )
        self.data.pop("query_error", None)
        self.data.update(result.facts)
        if result.text is None:
            return self.retry(menu, self.ask_digits(menu), self.prompt("ivr.not_found"))
        return self.enter(menu, [self.text(result.text)])

    def on_offer(self, menu: IvrMenu) -> dict[str, Any]:
        if (self.request.digits or "").strip() == "0":
            queue = (self.ctx.get("query") or {}).get("queue") or self.default_queue()
            if queue:
                return self.to_queue(queue)
        return self.enter(menu)

    def on_recording(self) -> dict[str, Any]:
        url = self.request.recording_url
        if not url:
            return self.hangup(self.prompt("ivr.no_message"))
        self.data["voicemail_url"] = url
        self._keep_voicemail(url)
        return self.hangup(self.prompt("ivr.message_kept"), outcome="voicemail")

    def _keep_voicemail(self, url: str) -> None:
        """A contact record (接触记录) of the message, so staff see it with the caller's contacts. It is
        the call's own record: the CTI completes it when the call ends."""
        from kefu.customers.contacts import service as contacts

        call = self.session.scalar(select(Call).where(Call.call_id == self.row.call_id))
        record = contacts.record_contact(
            self.session,
            None,
            customer_id=call.customer_id if call is not None else None,
            channel="phone",
            direction="inbound",
            started_at=call.started_at if call is not None else self.row.started_at,
            summary=say(self.lang if self.lang == "en" else "zh_CN", VOICEMAIL_SUMMARY, url=url),
            remote_address=(self.request.from_number or self.data.get("caller", ""))[:200],
            call_id=self.row.call_id[:64],
        )
        if call is not None and call.contact_id is None:
            call.contact_id = record.id

    def run(self) -> dict[str, Any]:
        step = self.row.step
        menu = self.menu()
        if step == "played":
            return self.enter(menu) if menu is not None else self.fallback(None)
        if step == "recording":
            return self.on_recording()
        if menu is None:  # the menu was deleted while the caller was in it
            return self.fallback(None)
        if step == "collect":
            return self.on_collect(menu)
        if step == "offer":
            return self.on_offer(menu)
        return self.on_menu(menu)

    def save(self, answer: dict[str, Any], seq: int) -> dict[str, Any]:
        self.data["menu_path"] = "-".join(p.rpartition(":")[2] for p in self.path if not p.endswith(":query"))
        self.row.data, self.row.path = self.data, self.path
        answer = {**answer, "seq": seq, "language": self.lang, "session_id": self.row.id}
        answer.setdefault("queue", None)
        self.row.step_params = {
            "ctx": self.ctx,
            "seq": seq,
            "last": self.request.fingerprint(),
            "answer": answer,
        }
        self.row.updated_at = clock.now()
        return answer


def _load(session: Session, request: StepIn) -> tuple[IvrSession, bool]:
    stmt = select(IvrSession).where(IvrSession.call_id == request.call_id).with_for_update()
    row = session.scalar(stmt)
    if row is not None:
        return row, False
    row = IvrSession(
        call_id=request.call_id,
        language=request.language or prompts.DEFAULT_LANGUAGE,
        step="start",
        step_params={"seq": 0},
        data={"caller": request.from_number} if request.from_number else {},
        path=[],
        retries=0,
        started_at=clock.now(),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same call's first step, sent twice at once
        return session.scalars(stmt).one(), False
    return row, True


def step(session: Session, request: StepIn) -> dict[str, Any]:
    """The next action for `request`'s call (see the module's docstring). Never commits."""
    row, _created = _load(session, request)
    state = row.step_params or {}
    current = int(state.get("seq") or 0)
    asked = request.seq or 0
    if asked == current - 1 and state.get("last") == request.fingerprint() and state.get("answer"):
        return dict(state["answer"])  # a replay: the same answer, nothing moves
    if asked != current:
        raise Conflict(STEP_CHANGED)
    if row.step == "done":
        raise Conflict(SESSION_ENDED)
    if request.language and request.language != row.language:
        row.language = request.language
    walk = _Walk(session, row, request)
    answer = walk.start() if row.step == "start" else walk.run()
    answer = walk.save(answer, current + 1)
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(STEP_CHANGED) from None
    _merge(session, row, lock=True)
    return answer


def collected(row: IvrSession) -> dict[str, Any]:
    """What the screen pop shows of an IVR session (scalars only)."""
    data = {
        k: v
        for k, v in (row.data or {}).items()
        if k != "caller" and (v is None or isinstance(v, (str, int, float, bool)))
    }
    return {**data, "language": row.language}


def _merge(session: Session, row: IvrSession, *, lock: bool) -> None:
    from kefu.callcenter.cti import _merge_ivr

    stmt = select(Call).where(Call.call_id == row.call_id)
    call = session.scalar(stmt.with_for_update() if lock else stmt)
    if call is not None:
        _merge_ivr(call, collected(row))
        call.updated_at = clock.now()
        if call.contact_id is None and row.outcome == "voicemail":
            from kefu.customers.contacts.models import ContactRecord

            call.contact_id = session.scalar(
                select(ContactRecord.id).where(ContactRecord.call_id == row.call_id[:64])
            )


def merge_into(session: Session, call: Call) -> None:
    """The CTI hook: a call reported after (or during) its IVR session gets what the session collected."""
    from kefu.callcenter.cti import _merge_ivr

    row = session.scalar(select(IvrSession).where(IvrSession.call_id == call.call_id))
    if row is not None:
        _merge_ivr(call, collected(row))
