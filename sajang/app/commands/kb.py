"""`sajang kb …`: search the knowledge base, rebuild its indexes, list and undo learned answers, list the manual's
articles and switch who may read one (customers or agents only)."""

from __future__ import annotations

from typing import Annotated

import typer

from sajang.app.console import emit_json, log, read_batch_lines
from sajang.config import get_settings
from sajang.errors import SajangError

# Commands import their feature inside the function: `sajang --help` and each command load only what they
# run (the graphs, Kiwi and Chroma take seconds to import).

kb_app = typer.Typer(help="Knowledge base: CS manual + learned answers (hybrid search).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(kb_app, name="kb")


@kb_app.command("search")
def search(
    query: Annotated[str | None, typer.Argument(help="Question to search for")] = None,
    queries: Annotated[str | None, typer.Option("--queries", help="File with one query per line, or -")] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="Hits per query")] = 5,
    kind: Annotated[str | None, typer.Option(help="Only `manual` or `learned` hits")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout (JSON Lines with --queries)")] = False,
) -> None:
    """Hybrid search over the manual and learned answers: one query, or one per line of a file."""
    from sajang.knowledge.service import get_knowledge

    if (query is None) == (queries is None):
        raise SajangError("give either QUERY or --queries FILE")
    if kind not in (None, "manual", "learned"):
        raise SajangError("--kind must be manual or learned")
    items = [query] if query is not None else read_batch_lines(queries or "-")
    kb = get_knowledge(get_settings())
    for q in items:
        res = kb.search(q, k=k, kinds={kind} if kind else None)
        if json_out:
            emit_json({"query": q, "hits": [{"id": h.id, "title": h.title, "score": h.score, "source": h.kind}
                                            for h in res.hits]})
        else:
            typer.echo(f"{q}  (confidence {res.confidence:.2f})")
            for i, h in enumerate(res.hits, 1):
                typer.echo(f"  {i}. [{h.kind}] {h.id}  {h.title}  {h.score:.3f}")


@kb_app.command("rebuild")
def rebuild(json_out: Annotated[bool, typer.Option("--json", help="Print a JSON summary")] = False) -> None:
    """Rebuild the vector and lexical indexes from the database (vectors come from the cache)."""
    from sajang.knowledge.service import get_knowledge

    kb = get_knowledge(get_settings())
    summary = kb.rebuild()
    summary["embedding_model_calls"] = kb.embeddings.stats.model_calls
    if json_out:
        emit_json(summary)
    else:
        log(f"{summary['documents']} documents, {summary['chunks']} chunks, {summary['embedded']} newly embedded")


@kb_app.command("stats")
def stats(json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Documents, chunks and vectors in the indexes."""
    from sajang.knowledge.service import get_knowledge

    s = get_knowledge(get_settings()).stats()
    if json_out:
        emit_json(s)
    else:
        typer.echo(", ".join(f"{k} {v}" for k, v in s.items()))


@kb_app.command("learned")
def learned(
    active_only: Annotated[bool, typer.Option("--active", help="Only active answers")] = False,
    query: Annotated[str | None, typer.Option(help="Substring of question or answer")] = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List learned answers (agents' corrections)."""
    from sajang.knowledge.service import get_knowledge

    rows = get_knowledge(get_settings()).list_learned(active_only=active_only, query=query)
    if json_out:
        emit_json({"learned": rows})
    else:
        for r in rows:
            state = "on " if r["active"] else "off"
            typer.echo(f"{r['id']:>5} {state} {r['author_name']}: {r['question'][:40]} → {r['answer'][:40]}")


@kb_app.command("unlearn")
def unlearn(
    learned_id: Annotated[str, typer.Argument(help="Learned answer id (or learned:<id>)")],
    actor: Annotated[str, typer.Option(help="Who undoes it (audit log)")] = "cli",
) -> None:
    """Deactivate a learned answer: it is not used from the next search on."""
    from sajang.knowledge.service import get_knowledge

    try:
        int(learned_id.removeprefix("learned:"))
    except ValueError:
        raise SajangError(f"bad learned answer id {learned_id!r}") from None
    get_knowledge(get_settings()).deactivate_learned(learned_id, actor)


@kb_app.command("articles")
def articles(json_out: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """The manual's articles and who may read each: as written (front matter) and in effect (the admin's switch)."""
    from sajang.services import manual

    rows = [a.as_dict() for a in manual.list_articles(get_settings())]
    if json_out:
        emit_json({"articles": rows})
        return
    for r in rows:
        switched = f"  (switched; written for {r['written']})" if r["overridden"] else ""
        typer.echo(f"{r['id']}  [{r['audience']}]  {r['title']}  · {r['category'] or '-'}{switched}")


@kb_app.command("audience")
def audience(
    article_id: Annotated[str, typer.Argument(help="Manual article id (see `sajang kb articles`)")],
    value: Annotated[str, typer.Argument(metavar="agents|customers|default",
                                         help="agents: customers never read it; customers: they may; "
                                              "default: as its front matter says")],
    actor: Annotated[str, typer.Option(help="Who switches it (audit log)")] = "cli",
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Make one article (and its translations) agents-only or customer-facing, from the next customer message."""
    from sajang.services import manual

    change = manual.set_audience(get_settings(), article_id, value, actor=actor)
    if json_out:
        emit_json(change.as_dict())
        return
    art = change.article
    also = f" (with {', '.join(change.translations)})" if change.translations else ""
    state = f"{change.before} → {art.audience}" if change.changed else f"{art.audience} (unchanged)"
    typer.echo(f"{art.id}{also}: {state}{'' if art.overridden else ' · as written'}")
