"""`sajang ask | classify | handoff list | handoff reply | feedback`: the inquiry graph from the shell."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from sajang.app.console import emit_json, read_batch_lines
from sajang.config import get_settings
from sajang.errors import SajangError

# Commands import their feature inside the function: `sajang --help` and each command load only what they
# run (the graphs, Kiwi and Chroma take seconds to import).

handoff_app = typer.Typer(help="Conversations waiting for a person.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("ask")(ask)
    app.command("classify")(classify)
    app.command("feedback")(feedback)
    app.add_typer(handoff_app, name="handoff")


def _service() -> Any:
    from sajang.graphs.inquiry.service import get_inquiry_service

    return get_inquiry_service(get_settings())


class _Asker:
    """Where `sajang ask` sends its messages: a running `sajang serve` (`sajang.app.client`), else the graph
    in this process. `via_server` None: the server when one answers, this process otherwise (also from the
    first message a server stops answering: nothing of a refused message was done); True / False: only there."""

    def __init__(self, via_server: bool | None) -> None:
        self.via_server = via_server
        self.client: Any = None
        self.service: Any = None
        if via_server is not False:
            from sajang.app.client import ServerClient, server_url

            url = server_url(get_settings())
            if url is not None:
                self.client = ServerClient(get_settings(), url)
            elif via_server:
                raise SajangError("no running `sajang serve` found: set SAJANG_SERVER_URL or start the server "
                                  "(it announces itself in the data dir)")

    def ask(self, text: str, customer_id: str | None, thread_id: str | None, locale: str | None) -> dict[str, Any]:
        if self.client is not None:
            from sajang.app.client import ServerUnavailable

            try:
                return dict(self.client.ask(text, customer_id=customer_id, thread_id=thread_id, locale=locale))
            except ServerUnavailable as exc:
                if self.via_server:
                    raise SajangError(f"the server did not take the message: {exc}") from None
                self.client = None
        if self.service is None:
            if "sajang.graphs.inquiry.service" not in sys.modules:  # a cold process: the graph is imported next
                from sajang.knowledge.text import load_kiwi_in_child

                load_kiwi_in_child()  # Kiwi loads on the other core meanwhile
            self.service = _service()
        return dict(self.service.ask(text, customer_id=customer_id, thread_id=thread_id, locale=locale))


def ask(
    text: Annotated[str | None, typer.Argument(help="The customer's message")] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Customer id (who is asking)")] = None,
    thread: Annotated[str | None, typer.Option("--thread", help="Continue this conversation")] = None,
    locale: Annotated[str | None, typer.Option(help="ko or en (default: the language of the text)")] = None,
    queries: Annotated[str | None, typer.Option(
        "--queries", help="JSON Lines file (or -): {text, customer_id?, thread? (a label: same label, one "
                          "conversation, in order), locale?} or a plain text line per message")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout (JSON Lines with --queries)")] = False,
    via_server: Annotated[bool | None, typer.Option(
        "--server/--no-server", help="--server: only through a running `sajang serve` (SAJANG_SERVER_URL, else "
                                     "the one the data dir's serve.json names); --no-server: in this process. "
                                     "Default: the server when one answers, else this process")] = None,
) -> None:
    """One customer message through the inquiry graph (answer, or handoff to a person); a batch with --queries."""
    if (text is None) == (queries is None):
        raise SajangError("give either TEXT or --queries FILE")
    if queries is not None:
        if thread is not None:
            raise SajangError("--thread is for one message; in a --queries file give each line a \"thread\" label")
        _ask_batch(read_batch_lines(queries), customer, locale, json_out, _Asker(via_server))
        return
    _print_answer(_Asker(via_server).ask(text or "", customer, thread, locale), json_out)


def _print_answer(result: dict[str, Any], json_out: bool) -> None:
    if json_out:
        emit_json(result)
        return
    typer.echo(f"[{result['category']} · {result['urgency']}] thread {result['thread_id']}")
    if result["answer"]:
        typer.echo(result["answer"])
    if result["handoff"]:
        typer.echo(f"→ handed off to a person ({result['handoff_reason']})")
    for s in result["sources"]:
        typer.echo(f"  source: {s['kind']} {s['id']} {s['title']} ({s['score']:.2f})")


def batch_message(line: str, number: int) -> dict[str, Any]:
    """One line of a `--queries` file: a JSON object with `text`, or the message itself as plain text."""
    if not line.startswith("{"):
        return {"text": line}
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise SajangError(f"line {number}: not valid JSON ({exc.msg})") from None
    if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not row["text"].strip():
        raise SajangError(f"line {number}: a JSON line needs a non-empty \"text\"")
    return row


def _ask_batch(lines: list[str], customer: str | None, locale: str | None, json_out: bool, asker: _Asker) -> None:
    """Every message in one process (the start-up is paid once); a `thread` label joins the lines of one
    conversation, which must keep one customer."""
    messages = [batch_message(line, n) for n, line in enumerate(lines, 1)]  # all checked before any is asked
    threads: dict[str, tuple[str, str | None]] = {}  # label → (thread id, its customer)
    for n, row in enumerate(messages, 1):
        who = row.get("customer_id") or customer
        label = row.get("thread")
        thread_id = None
        if label is not None:
            known = threads.get(str(label))
            if known is not None:
                thread_id, owner = known
                if who != owner:
                    raise SajangError(f"line {n}: thread {label!r} belongs to {owner or 'a guest'}, not {who or 'a guest'}")
        result = asker.ask(row["text"], who, thread_id, row.get("locale") or locale)
        if label is not None:
            threads.setdefault(str(label), (result["thread_id"], who))
        _print_answer(result, json_out)


def classify(
    text: Annotated[str | None, typer.Argument(help="A customer message")] = None,
    queries: Annotated[str | None, typer.Option("--queries", help="File with one message per line, or -")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout (JSON Lines with --queries)")] = False,
) -> None:
    """Category + urgency (+ wants a person) per message."""

    if (text is None) == (queries is None):
        raise SajangError("give either TEXT or --queries FILE")
    texts = [text] if text is not None else read_batch_lines(queries or "-")
    for t, c in zip(texts, _service().classify(texts), strict=True):
        row = {"text": t, "category": c.category, "urgency": c.urgency, "wants_human": c.wants_human,
               "confidence": c.confidence}
        if json_out:
            emit_json(row)
        else:
            typer.echo(f"{c.category:<14} {c.urgency:<7} {'👤' if c.wants_human else '  '} {t}")


@handoff_app.command("list")
def handoff_list(
    status: Annotated[str, typer.Option(help="pending (new + assigned), new, assigned, resolved or all")] = "pending",
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
) -> None:
    """Handed-off conversations, most urgent first."""

    rows = _service().list_handoffs(status=status)
    if json_out:
        emit_json(rows)
        return
    if not rows:
        typer.echo("no handoffs")
    for r in rows:
        who = r["customer_name"] or r["guest_name"] or r["customer_id"] or "guest"
        typer.echo(f"{r['thread_id']}  {r['status']:<8} {r['urgency'] or '':<7} {r['category'] or '':<14} "
                   f"{who}: {(r['last_message'] or r['subject'] or '')[:60]}")


def _user(username: str | None) -> tuple[int | None, str]:
    """The agent acting from the shell: `--as USERNAME`, else an unnamed CLI agent."""
    if not username:
        return None, "상담원(CLI)"
    from sqlalchemy import select

    from sajang.db.engine import get_engine
    from sajang.db.models import User

    settings = get_settings()
    with get_engine(settings.resolved_database_url).connect() as conn:
        row = conn.execute(select(User.id, User.display_name).where(User.username == username)).first()
    if row is None:
        raise SajangError(f"no user {username!r}")
    return int(row.id), str(row.display_name)


@handoff_app.command("reply")
def handoff_reply(
    thread: Annotated[str, typer.Argument(help="Thread id")],
    text: Annotated[str, typer.Argument(help="The agent's message to the customer")],
    resolve: Annotated[bool, typer.Option("--resolve", help="Also close the conversation")] = False,
    as_user: Annotated[str | None, typer.Option("--as", help="Agent username")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
) -> None:
    """Answer a handed-off conversation as an agent (resumes the waiting graph)."""

    user_id, name = _user(as_user)
    result = _service().reply(thread, text, agent_user_id=user_id, agent_name=name, resolve=resolve)
    if json_out:
        emit_json(result)
    else:
        typer.echo(f"sent · status {result['status']}" + (" (duplicate ignored)" if result["duplicate"] else ""))


def feedback(
    thread: Annotated[str | None, typer.Argument(help="Thread id of the conversation")] = None,
    correct: Annotated[str | None, typer.Option("--correct", help="The correct answer to teach")] = None,
    message: Annotated[int | None, typer.Option("--message", help="The AI message id (default: the last one)")] = None,
    generalise: Annotated[bool, typer.Option("--generalise",
                                             help="Replace personal data with placeholders instead of refusing")] = False,
    undo: Annotated[int | None, typer.Option("--undo", help="Deactivate this learned answer id instead")] = None,
    as_user: Annotated[str | None, typer.Option("--as", help="Agent username")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
) -> None:
    """Mark the last AI answer wrong and teach the corrected answer (active from the next message)."""

    user_id, name = _user(as_user)
    if undo is not None:
        result = _service().undo_learned(undo, actor=name)
    else:
        if not thread or not correct:
            raise SajangError("give THREAD and --correct TEXT (or --undo LEARNED_ID)")
        result = _service().feedback(thread, correct, user_id=user_id, author_name=name, message_id=message,
                                     generalise_personal=generalise)
    if json_out:
        emit_json({k: v for k, v in result.items() if k != "learned"})
    elif undo is not None:
        typer.echo(f"learned answer {result['learned_id']} deactivated")
    else:
        typer.echo(f"learned answer {result['learned_id']} active" + (" (personal data generalised)"
                                                                      if result["generalised"] else ""))
