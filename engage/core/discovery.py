"""Finds the modules of one name across the project's apps and their area packages (`members/points/tasks.py`,
`events/pages/demo.py` …), so the platform can run what areas provide without importing any feature app by name."""

from pathlib import Path

from django.apps import apps


def area_modules(name: str) -> list[str]:
    """Dotted names of `<app>/<name>.py` and `<app>/<area>/<name>.py` for every installed project app."""
    found = []
    for config in apps.get_app_configs():
        path = Path(config.path)
        if "site-packages" in path.parts:
            continue  # third-party apps
        if (path / f"{name}.py").is_file():
            found.append(f"{config.name}.{name}")
        found.extend(f"{config.name}.{sub.name}.{name}" for sub in sorted(path.iterdir())
                     if (sub / "__init__.py").is_file() and (sub / f"{name}.py").is_file())
    return found
