"""The shape of the code, held by its imports: which way the parts lean and what they never do (the "Never" list
of the architecture), and no import loop; and by its size: modules a reader can hold, functions that fit a screen.
Read from the source with ``ast``: module-level imports only (an import inside a function runs when it is called,
as the CLI's lazy ones do), ``TYPE_CHECKING`` blocks aside."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Whose modules may the storage layer use: the ports it implements and the plain data they carry.
STORAGE_MAY_USE = ("bot.services.ports", "bot.services.models", "bot.services.messages", "bot.services.roster")


def _modules() -> dict[str, Path]:
    found = {}
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("storage/**/*.py")]:
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = package.rsplit(".", node.level - 1)[0] if node.level else ""
                module = ".".join(part for part in (base, node.module or "") if part)
                found.add(module)
                found.update(f"{module}.{alias.name}" for alias in node.names)
            elif isinstance(node, (ast.If, ast.Try, ast.With, ast.ClassDef)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)

    visit(ast.parse(path.read_text()).body)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _uses(module: str, *prefixes: str) -> set[str]:
    return {i for i in GRAPH[module] if any(i == p or i.startswith(p + ".") for p in prefixes)}


def _in(part: str) -> list[str]:
    return [name for name in MODULES if name == part or name.startswith(part + ".")]


def broken(rule: str, modules: list[str], *forbidden: str, allowed: tuple[str, ...] = ()) -> list[str]:
    return [
        f"{rule}: {module} imports {used}"
        for module in modules
        for used in sorted(_uses(module, *forbidden))
        if not used.startswith(allowed)
    ]


def test_each_part_leans_only_the_way_the_architecture_draws():
    services = [m for m in _in("bot.services")]
    problems = [
        *broken(
            "the domain knows no SQL, Slack, use case, view or wording",
            _in("bot.domain"),
            "sqlalchemy",
            "slack_sdk",
            "slack_bolt",
            "apscheduler",
            "storage",
            "bot.services",
            "bot.blocks",
            "bot.handlers",
            "bot.app",
        ),
        *broken(
            "policies hold data; their wording is the blocks'",
            _in("bot.policies"),
            "bot.blocks",
            "bot.services",
            "storage",
        ),
        *broken("use cases never import blocks", services, "bot.blocks", "bot.handlers", "bot.app", "bot.edge"),
        *broken(
            "the core and the notifier read no database themselves",
            ["bot.services.core", "bot.services.notify"],
            "storage",
            "sqlalchemy",
        ),
        *broken(
            "blocks render what they are handed and run no query",
            _in("bot.blocks"),
            "bot.services.read_models",
            "storage",
            "sqlalchemy",
        ),
        *broken(
            "listeners go through use cases, never straight to storage", _in("bot.handlers"), "storage", "sqlalchemy"
        ),
        *broken(
            "storage implements ports and calls no use case",
            _in("storage"),
            "bot.services",
            "bot.blocks",
            "bot.handlers",
            allowed=STORAGE_MAY_USE,
        ),
        *broken("the App starts no CLI and knows no stand-in", _in("bot.app"), "bot.cli", "bot.sandbox", "tests"),
    ]
    assert problems == []


def test_there_is_no_import_loop():
    graph = {name: {used for used in deps if used in MODULES and used != name} for name, deps in GRAPH.items()}
    loops, seen, on_path = [], set(), []

    def walk(module: str) -> None:
        if module in on_path:
            loops.append([*on_path[on_path.index(module) :], module])
            return
        if module in seen:
            return
        seen.add(module)
        on_path.append(module)
        for used in sorted(graph[module]):
            walk(used)
        on_path.pop()

    for module in sorted(graph):
        walk(module)
    assert loops == []


def test_the_reading_sees_the_imports_it_judges():
    """The rules above are only as good as the reading: it must see a known import of each kind."""
    assert "bot.domain.errors" in GRAPH["bot.domain.money"]  # from-import, absolute
    assert "bot.services.ports" in GRAPH["storage.uow"]
    assert "bot.blocks.refusals" in GRAPH["bot.api"]  # the edge words the import's refusals
    assert "bot.app.probe" not in GRAPH["bot.cli"]  # imported inside `worker` only


MODULE_LINES, FUNCTION_LINES = 500, 60


def test_every_module_and_function_of_the_app_is_small_enough_to_read_whole():
    too_long = []
    for name, path in MODULES.items():
        if not name.startswith("bot."):
            continue
        source = path.read_text()
        if (lines := len(source.splitlines())) > MODULE_LINES:
            too_long.append(f"{name}: {lines} lines")
        for node in ast.walk(ast.parse(source)):
            is_function = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            if is_function and (length := node.end_lineno - node.lineno + 1) > FUNCTION_LINES:
                too_long.append(f"{name}.{node.name}: {length} lines")
    assert too_long == []
