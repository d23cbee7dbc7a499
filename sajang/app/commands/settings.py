"""`sajang settings show|set|reset`: the store policy (keys as the README's `SAJANG_STORE__*`, lower case)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sajang.app.console import emit_json
from sajang.config import get_settings

settings_app = typer.Typer(help="Store policy: show, set, reset (audited; used from the next answer).",
                           no_args_is_help=True)

ActorOption = Annotated[str, typer.Option("--actor", help="Who changes it (written to the audit log)")]


def register(app: typer.Typer) -> None:
    app.add_typer(settings_app, name="settings")


def _text(view: dict[str, Any]) -> str:
    width = max(len(k) for k in view["values"])
    lines = [f"{k.ljust(width)}  {v}{'' if k not in view['overridden'] else '   (admin)'}"
             for k, v in view["values"].items()]
    if view["updated_by"]:
        lines.append(f"last change: {view['updated_at']} by {view['updated_by']}")
    return "\n".join(lines)


@settings_app.command("show")
def show(json_out: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """The store policy in effect: the environment's values with the admin's changes on top."""
    from sajang.services import store_settings

    view = store_settings.show(get_settings()).as_dict()
    if json_out:
        emit_json(view)
    else:
        typer.echo(_text(view))


@settings_app.command("set")
def set_value(
    key: Annotated[str, typer.Argument(help="delivery_fee, free_shipping_threshold, dispatch_cutoff, return_fee, "
                                            "exchange_fee, return_window_days, shop_name, cs_hours, cs_phone, courier")],
    value: Annotated[str, typer.Argument(help="The new value (won as 3500 or 3,500; time as 14:00)")],
    actor: ActorOption = "cli",
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Change one setting (validated, audited with the old and new value)."""
    from sajang.services import store_settings

    result = store_settings.update(get_settings(), {key: value}, actor=actor)
    _print_update(result, key, json_out)


def _print_update(result: Any, key: str, json_out: bool) -> None:
    """What `set` and `reset` print: the JSON result, or a line per changed value."""
    from sajang.services import store_settings

    if json_out:
        emit_json(result.as_dict())
        return
    if not result.changes:
        typer.echo(f"{store_settings.check_key(key)}: unchanged")
    for c in result.changes:
        typer.echo(f"{c.key}: {c.old} → {c.new}")


@settings_app.command("reset")
def reset(
    key: Annotated[str, typer.Argument(help="The setting that goes back to the environment's value")],
    actor: ActorOption = "cli",
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Drop the admin's value of one setting (the environment's applies again)."""
    from sajang.services import store_settings

    result = store_settings.update(get_settings(), {}, actor=actor, reset=[key])
    _print_update(result, key, json_out)
