"""Loads the suite's plugin and fixtures (explicitly: plugin autoload is off in our commands)."""

import os

pytest_plugins = [
    "minimarket_ops.plugin",
    "fixtures.target",
    "fixtures.database",
    "fixtures.api",
    "fixtures.finding",
]

# With PYTEST_DISABLE_PLUGIN_AUTOLOAD (faster start-up) the HTML report plugin is loaded here;
# with autoload on it is already registered and must not be registered twice.
if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
    pytest_plugins += ["pytest_metadata.plugin", "pytest_html.plugin"]
