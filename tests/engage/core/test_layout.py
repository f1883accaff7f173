"""The layout of DESIGN.md, checked on the source: one package per domain area, imports that point one way, no
import cycles, function-local imports only where Django or Wagtail force them (each saying why), no role names
outside engage/core/roles.py. Reads the files with ast; imports nothing of the project."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
APPS = ("engage", "members", "cms", "events", "learning")

# Dependencies point one way (DESIGN.md, Layout): a module may import its own package and the packages of lower
# layers. The platform packages share a layer and may use each other (without cycles, checked below); core uses
# only the audit trail (seed_demo writes its entry).
LAYERS = {
    "engage.core": 0,
    "engage.audit": 1, "engage.inbox": 1, "engage.messaging": 1,
    "members": 2,
    "cms": 3, "engage.reminders": 3,
    "events": 4, "learning": 4,
}
PLATFORM_PEERS = {"engage.audit", "engage.inbox", "engage.messaging"}  # may use each other, acyclically
# The project's wiring (settings, URLs, routing, the Celery app, the API root) names apps by dotted string only.
WIRING = {"engage", "engage.settings", "engage.urls", "engage.asgi", "engage.wsgi", "engage.routing", "engage.celery",
          "engage.api"}
FEATURE_APPS = ("members", "cms", "events", "learning", "engage.reminders")
ROOT_WIRING_FILES = {"__init__.py", "apps.py", "models.py", "urls.py", "api.py", "wagtail_hooks.py", "blocks.py"}
SUFFIX_FILE = re.compile(r"^(services|selectors|views|api|urls|forms|admin)_[a-z0-9_]+\.py$")
# Staff role names (doctor, rep and admin are also ordinary field names); a role is asked for by capability.
ROLE_VALUES = ("marketing", "medical_reviewer", "compliance")
CHOICE_MEMBER = re.compile(r"^\s*[A-Z][A-Z_]* = [\"']")  # a TextChoices value that happens to share a word


def _source_files():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(path): path for path in _source_files()}


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _package(module: str) -> str:
    for package in sorted(LAYERS, key=len, reverse=True):
        if module == package or module.startswith(package + "."):
            return package
    return module.split(".")[0]


def _imports(path: Path):
    """(imported project module, line, function-local?, source lines of the statement) for every import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = path.read_text(encoding="utf-8").splitlines()
    local = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            local.update(id(inner) for inner in ast.walk(node) if isinstance(inner, (ast.Import, ast.ImportFrom)))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        text = lines[max(0, node.lineno - 2): node.end_lineno]
        for name in names:
            if name.split(".")[0] not in APPS:
                continue
            target = _resolve(name)
            if target:
                yield target, node.lineno, id(node) in local, text


EDGES = [(module, *found) for module, path in MODULES.items() for found in _imports(path)]


def _allowed(source: str, target: str) -> bool:
    if source in WIRING or _package(source) == "engage.settings":
        return not target.startswith(FEATURE_APPS)
    src, dst = _package(source), _package(target)
    if src == dst:
        return True
    if src == "engage.core":
        return dst == "engage.audit"
    if src in PLATFORM_PEERS and dst in PLATFORM_PEERS:
        return True
    return LAYERS.get(dst, 99) < LAYERS.get(src, -1)


def test_imports_point_one_way():
    against = [f"{source}:{line} imports {target}" for source, target, line, _local, _text in EDGES
               if source != target and not _allowed(source, target)]
    assert against == []


def test_the_project_wiring_imports_no_feature_app():
    found = [f"{source}:{line} imports {target}" for source, target, line, _local, _text in EDGES
             if (source in WIRING or _package(source) == "engage.settings") and target.startswith(FEATURE_APPS)]
    assert found == []


def test_no_import_cycles_at_module_level():
    graph: dict[str, set[str]] = {}
    for source, target, _line, local, _text in EDGES:
        if not local and source != target:
            graph.setdefault(source, set()).add(target)
    cycles, index, low, stack, on_stack = [], {}, {}, [], set()

    def visit(node):  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    assert cycles == []


def test_function_local_project_imports_say_why():
    """Only where Django or Wagtail force them (a page serving itself, a model's form or panel, AppConfig.ready),
    each with a comment on the statement or the line above."""
    silent = [f"{source}:{line}" for source, _target, line, local, text in EDGES
              if local and not any("#" in row for row in text)]
    assert silent == []


def test_no_model_imports_a_view():
    found = [f"{source}:{line} imports {target}" for source, target, line, _local, _text in EDGES
             if source.endswith(".models") and target.endswith((".views", ".api", ".admin", ".consumers"))]
    assert found == []


def test_each_app_root_holds_only_wiring_and_areas_use_plain_names():
    suffix_files = [str(path.relative_to(ROOT)) for path in _source_files() if SUFFIX_FILE.match(path.name)]
    assert suffix_files == []
    for app in ("members", "cms", "events", "learning"):
        files = {path.name for path in (ROOT / app).iterdir() if path.is_file() and path.suffix == ".py"}
        assert files <= ROOT_WIRING_FILES, f"{app}/ holds {sorted(files - ROOT_WIRING_FILES)}"


@pytest.mark.parametrize("suffix", [".py", ".html"])
def test_no_role_name_outside_roles(suffix):
    """Nor a role looked up by group name: roles.py's capability_holders finds people by capability."""
    quoted = re.compile("[\"'](" + "|".join(ROLE_VALUES) + ")[\"']")
    roots = [ROOT / app for app in APPS] if suffix == ".py" else [ROOT / "templates"]
    found = []
    for root in roots:
        for path in sorted(root.rglob(f"*{suffix}")):
            if "migrations" in path.parts or path == ROOT / "engage" / "core" / "roles.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if (quoted.search(line) and not CHOICE_MEMBER.match(line)) or "groups__name" in line:
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_the_checks_above_can_fail():
    """The rules refuse what they are meant to refuse (guards against a check that passes on anything)."""
    assert not _allowed("members.points.services", "events.registrations.models")
    assert not _allowed("cms.pages.selectors", "events.pages.selectors")
    assert not _allowed("engage.core.jobs", "engage.messaging.tasks")
    assert not _allowed("engage.urls", "members.accounts.views")
    assert not _allowed("engage.reminders.services", "cms.pages.models")
    assert _allowed("events.pages.selectors", "cms.pages.selectors")
    assert SUFFIX_FILE.match("services_reading.py") and not SUFFIX_FILE.match("services.py")
